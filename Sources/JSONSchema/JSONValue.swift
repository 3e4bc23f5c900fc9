import Foundation

/// A JSON document as a value: what a schema validates.
///
/// Integers are kept exact (`integer`) as long as they fit in 64 bits; other
/// numbers are `number`. Equality is JSON equality, as JSON Schema's `enum`,
/// `const` and `uniqueItems` use it: `1` equals `1.0`, and objects compare
/// without regard to key order.
///
/// ```swift
/// let body = try JSONValue.parse(Array(#"{"name": "Ada", "age": 36}"#.utf8))
/// if case .object(let fields) = body, case .integer(let age)? = fields["age"] { print(age) }
/// let same: JSONValue = ["age": 36, "name": "Ada"]   // literals work too
/// ```
public enum JSONValue: Sendable {
    case null
    case bool(Bool)
    case integer(Int64)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    /// The JSON Schema type name of this value, as `type` messages print it
    /// ("null", "boolean", "object", "array", "number" or "string").
    public var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "boolean"
        case .integer, .number: "number"
        case .string: "string"
        case .array: "array"
        case .object: "object"
        }
    }

    /// The numeric value, for either kind of number.
    public var doubleValue: Double? {
        switch self {
        case .integer(let value): Double(value)
        case .number(let value): value
        default: nil
        }
    }

    /// True for numbers with no fractional part: JSON Schema's "integer" is
    /// about the value, so `1.0` counts.
    public var isInteger: Bool {
        switch self {
        case .integer: true
        case .number(let value): value.isFinite && value.rounded(.towardZero) == value
        default: false
        }
    }
}

// MARK: - Equality

extension JSONValue: Hashable {
    public static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): true
        case (.bool(let a), .bool(let b)): a == b
        case (.integer(let a), .integer(let b)): a == b
        case (.number(let a), .number(let b)): a == b
        // Compare through Int64 when the double is integral, so that large
        // integers do not collapse onto the same double.
        case (.integer(let a), .number(let b)), (.number(let b), .integer(let a)): Int64(exactly: b) == a
        case (.string(let a), .string(let b)): a == b
        case (.array(let a), .array(let b)): a == b
        case (.object(let a), .object(let b)): a == b
        default: false
        }
    }

    public func hash(into hasher: inout Hasher) {
        switch self {
        case .null: hasher.combine(0)
        case .bool(let value): hasher.combine(value)
        case .integer(let value): hasher.combine(value)
        case .number(let value):
            // Hash as the integer it equals, if any, to agree with `==`.
            if let exact = Int64(exactly: value) { hasher.combine(exact) } else { hasher.combine(value) }
        case .string(let value): hasher.combine(value)
        case .array(let value): hasher.combine(value)
        case .object(let value): hasher.combine(value)
        }
    }
}

// MARK: - Codable

extension JSONValue: Codable {
    /// Decodes any JSON value. Bool is tried before numbers, and the JSON
    /// decoder never turns `0`/`1` into a Bool or `true` into a number, so
    /// the two kinds stay apart.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int64.self) {
            self = .integer(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .integer(let value): try container.encode(value)
        case .number(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }
}

// MARK: - Text

extension JSONValue: CustomStringConvertible {
    /// Compact JSON text with sorted keys, so equal values print alike
    /// (messages quote `enum` and `const` values this way).
    public var description: String {
        var text = ""
        write(to: &text)
        return text
    }

    func write(to text: inout String) {
        switch self {
        case .null: text += "null"
        case .bool(let value): text += value ? "true" : "false"
        case .integer(let value): text += String(value)
        case .number(let value): text += JSONValue.format(value)
        case .string(let value): JSONValue.quote(value, into: &text)
        case .array(let values):
            text += "["
            for (index, value) in values.enumerated() {
                if index > 0 { text += "," }
                value.write(to: &text)
            }
            text += "]"
        case .object(let fields):
            text += "{"
            for (index, key) in fields.keys.sorted().enumerated() {
                if index > 0 { text += "," }
                JSONValue.quote(key, into: &text)
                text += ":"
                fields[key]!.write(to: &text)
            }
            text += "}"
        }
    }

    /// A number as people write it: `3` rather than `3.0`, `0.5`, `1e+30`.
    static func format(_ value: Double) -> String {
        guard value.isFinite else { return "null" } // JSON has no NaN or infinity
        if value.rounded(.towardZero) == value, abs(value) < 1e15 { return String(Int64(value)) }
        return String(value)
    }

    static func quote(_ string: String, into text: inout String) {
        text += "\""
        for scalar in string.unicodeScalars {
            switch scalar {
            case "\"": text += "\\\""
            case "\\": text += "\\\\"
            case "\n": text += "\\n"
            case "\r": text += "\\r"
            case "\t": text += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                text += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: text.unicodeScalars.append(scalar)
            }
        }
        text += "\""
    }
}
