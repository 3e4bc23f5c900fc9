import Foundation

/// One JSON value from a token payload, kept close to its source text so it
/// can be handed on as text (``Identity/claims``) without losing what it was.
enum ClaimValue: Sendable, Hashable {
    case string(String)
    /// The number as JSON text, so large integers are not rounded through `Double`.
    case number(String)
    case bool(Bool)
    case null
    case array([ClaimValue])
    case object([String: ClaimValue])

    /// Strings as they are, everything else as compact JSON.
    var text: String {
        if case .string(let value) = self { return value }
        var out = ""
        writeJSON(into: &out)
        return out
    }

    /// The value as seconds since 1970 when it is a JSON number (NumericDate).
    var seconds: Double? {
        if case .number(let text) = self { return Double(text) }
        return nil
    }

    var string: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    /// Compact JSON with sorted keys, so equal claims always give equal text.
    private func writeJSON(into out: inout String) {
        switch self {
        case .string(let value): Self.writeString(value, into: &out)
        case .number(let text): out += text
        case .bool(let value): out += value ? "true" : "false"
        case .null: out += "null"
        case .array(let items):
            out += "["
            for (index, item) in items.enumerated() {
                if index > 0 { out += "," }
                item.writeJSON(into: &out)
            }
            out += "]"
        case .object(let members):
            out += "{"
            for (index, key) in members.keys.sorted().enumerated() {
                if index > 0 { out += "," }
                Self.writeString(key, into: &out)
                out += ":"
                members[key]!.writeJSON(into: &out)
            }
            out += "}"
        }
    }

    private static func writeString(_ value: String, into out: inout String) {
        out += "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
    }
}

extension ClaimValue: Decodable {
    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        // Most claims are strings or integers: try those first, as each miss costs a thrown error.
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode(Int64.self) {
            self = .number(String(value))
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(UInt64.self) {
            self = .number(String(value))
        } else if let value = try? container.decode(Double.self) {
            self = .number(Self.numberText(value))
        } else if let value = try? container.decode([ClaimValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: ClaimValue].self))
        }
    }

    /// Whole numbers print without a fraction, as JSON writers do.
    private static func numberText(_ value: Double) -> String {
        if value.isFinite, value == value.rounded(), abs(value) < 1e15 {
            return String(Int64(value))
        }
        return String(value)
    }
}
