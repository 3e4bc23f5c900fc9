import Foundation

/// JSON Schema for a request type, derived from its `Decodable` conformance.
///
/// `derive` runs `T.init(from:)` against a decoder that records what it is
/// asked for instead of reading JSON: `decode(_:forKey:)` makes a required
/// property, `decodeIfPresent` an optional one (which, as for `JSONDecoder`,
/// may also be null), nested types are described the same way, and arrays,
/// sets and dictionaries by their element types. Unknown properties stay
/// allowed, since `Codable` ignores them.
///
/// ```swift
/// struct CreateUser: Decodable { var name: String; var age: Int?; var tags: [String] }
/// RequestSchema.derive(CreateUser.self)
/// // {"properties":{"age":{"type":["integer","null"]},"name":{"type":"string"},
/// //  "tags":{"items":{"type":"string"},"type":"array"}},"required":["name","tags"],"type":"object"}
/// ```
public enum RequestSchema {
    /// The schema as compact JSON text with sorted keys (no `$schema`), or
    /// nil if `T` cannot be described: its `init(from:)` rejects the
    /// placeholder values it is given ("", 0, false…), or decodes in a way
    /// no schema states. Deriving never traps, whatever `init(from:)` does
    /// with what it is given.
    ///
    /// `dateDecoding` is how the decoder that reads the requests decodes
    /// `Date`. The default matches the SDK's decoder (a number: seconds since
    /// 2001); with `.iso8601`, dates are `{"type":"string","format":"date-time"}`.
    ///
    /// An enum with String raw values is `{"type":"string"}` (integer raw
    /// values: `"integer"`); if it is `CaseIterable`, the raw values are
    /// listed in `enum`. A type that contains itself is described once in
    /// `$defs` and referred to with `$ref`.
    public static func derive<T: Decodable>(_ type: T.Type,
                                            dateDecoding: JSONDecoder.DateDecodingStrategy = .deferredToDate) -> String? {
        let recorder = SchemaRecorder(dates: dateDecoding)
        guard let described = try? recorder.describe(T.self), !recorder.failed,
              case .object(var root) = described.schema
        else { return nil }
        if !recorder.definitions.isEmpty { root["$defs"] = .object(recorder.definitions) }
        return SchemaJSON.object(root).text
    }
}

/// A schema under construction: JSON, written with sorted keys.
enum SchemaJSON: Equatable {
    case null, bool(Bool), integer(Int64), string(String)
    case array([SchemaJSON])
    case object([String: SchemaJSON])

    static func type(_ name: String, _ extra: [String: SchemaJSON] = [:]) -> SchemaJSON {
        .object(extra.merging(["type": .string(name)]) { _, new in new })
    }

    /// The same schema, also accepting null.
    var nullable: SchemaJSON {
        guard case .object(var fields) = self, !fields.isEmpty else { return self } // {} takes null already
        if fields["$ref"] != nil || fields["type"] == nil { return .object(["anyOf": .array([self, .type("null")])]) }
        switch fields["type"] {
        case .string(let name)? where name != "null": fields["type"] = .array([.string(name), .string("null")])
        case .array(let names)? where !names.contains(.string("null")): fields["type"] = .array(names + [.string("null")])
        default: break
        }
        if case .array(let values)? = fields["enum"], !values.contains(.null) { fields["enum"] = .array(values + [.null]) }
        return .object(fields)
    }

    var text: String {
        switch self {
        case .null: return "null"
        case .bool(let value): return value ? "true" : "false"
        case .integer(let value): return String(value)
        case .string(let value): return SchemaJSON.quote(value)
        case .array(let values): return "[" + values.map(\.text).joined(separator: ",") + "]"
        case .object(let fields):
            return "{" + fields.keys.sorted().map { SchemaJSON.quote($0) + ":" + fields[$0]!.text }.joined(separator: ",") + "}"
        }
    }

    private static func quote(_ string: String) -> String {
        var text = "\""
        for scalar in string.unicodeScalars {
            switch scalar {
            case "\"": text += "\\\""
            case "\\": text += "\\\\"
            case _ where scalar.value < 0x20: text += String(format: "\\u%04x", scalar.value)
            default: text.unicodeScalars.append(scalar)
            }
        }
        return text + "\""
    }
}

/// Collections described by their element type: decoding an empty
/// container would not reveal it.
protocol SchemaSequence {
    static var schemaElement: any Decodable.Type { get }
    static var schemaEmpty: Self { get }
}

extension Array: SchemaSequence where Element: Decodable {
    static var schemaElement: any Decodable.Type { Element.self }
    static var schemaEmpty: Self { [] }
}

extension ContiguousArray: SchemaSequence where Element: Decodable {
    static var schemaElement: any Decodable.Type { Element.self }
    static var schemaEmpty: Self { [] }
}

extension Set: SchemaSequence where Element: Decodable {
    static var schemaElement: any Decodable.Type { Element.self }
    static var schemaEmpty: Self { [] }
}

protocol SchemaDictionary {
    static var schemaKey: Any.Type { get }
    static var schemaValue: any Decodable.Type { get }
    static var schemaEmpty: Self { get }
}

extension Dictionary: SchemaDictionary where Key: Decodable, Value: Decodable {
    static var schemaKey: Any.Type { Key.self }
    static var schemaValue: any Decodable.Type { Value.self }
    static var schemaEmpty: Self { [:] }
}

/// Thrown through the type's `init(from:)` when derivation cannot go on.
struct DerivationStop: Error {}

/// One derivation: the types being described (to catch recursion), those
/// already described, and the `$defs` for recursive ones.
final class SchemaRecorder {
    let dates: JSONDecoder.DateDecodingStrategy
    private(set) var definitions: [String: SchemaJSON] = [:]
    private var definitionNames: [ObjectIdentifier: String] = [:]
    private var inProgress: [ObjectIdentifier] = []
    private var recursive: Set<ObjectIdentifier> = []
    private var described: [ObjectIdentifier: (schema: SchemaJSON, placeholder: Any?)] = [:]
    /// Set when a part could not be described, even if `init(from:)` swallowed the error.
    private(set) var failed = false

    /// Types being described at once, nested: beyond this, give up.
    static let maxNesting = 64

    init(dates: JSONDecoder.DateDecodingStrategy) { self.dates = dates }

    /// `T`'s schema, and a value of `T` to hand back to the caller's
    /// `init(from:)` (nil when there is none: a type still being described).
    func describe<T: Decodable>(_ type: T.Type) throws -> (schema: SchemaJSON, placeholder: T?) {
        if let (schema, placeholder) = leaf(T.self) { return (schema, placeholder as? T) }
        if let sequence = T.self as? any SchemaSequence.Type {
            let items = try describe(sequence.schemaElement).schema
            return (.type("array", ["items": items]), sequence.schemaEmpty as? T)
        }
        if let dictionary = T.self as? any SchemaDictionary.Type {
            let values = try describe(dictionary.schemaValue).schema
            // JSONDecoder reads String- and Int-keyed dictionaries from objects;
            // other keys depend on the key type, so anything goes.
            let schema: SchemaJSON = switch dictionary.schemaKey {
            case is String.Type: .type("object", ["additionalProperties": values])
            case is Int.Type: .type("object", ["additionalProperties": values, "propertyNames": .object(["pattern": .string("^-?[0-9]+$")])])
            default: .object([:])
            }
            return (schema, dictionary.schemaEmpty as? T)
        }
        let id = ObjectIdentifier(T.self)
        if let done = described[id] { return (done.schema, done.placeholder as? T) }
        if inProgress.contains(id) {
            recursive.insert(id)
            return (.object(["$ref": .string("#/$defs/" + definitionName(T.self))]), nil)
        }
        // A generic type can nest ever new types (Box<T> holding a Box<[T]>?):
        // give up rather than recurse without end.
        guard inProgress.count < SchemaRecorder.maxNesting else { return try stop() }
        inProgress.append(id)
        let value = RecordedValue()
        var placeholder: T?
        do {
            placeholder = try T(from: RecordingDecoder(recorder: self, value: value, codingPath: []))
        } catch {
            // Only a rejected primitive (a raw value not among the enum's
            // cases, say) still tells the JSON type; anything else is a stop.
            guard !(error is DerivationStop), value.decodedPrimitive else {
                inProgress.removeLast()
                return try stop()
            }
        }
        inProgress.removeLast()
        guard var schema = value.schema else { return try stop() }
        if let iterable = T.self as? any CaseIterable.Type {
            let cases = SchemaRecorder.cases(iterable)
            placeholder = placeholder ?? cases.first as? T
            if let values = SchemaRecorder.rawValues(cases), case .object(var fields) = schema,
               fields["type"] == .string(values.type) {
                fields["enum"] = .array(values.list)
                schema = .object(fields)
            }
        }
        if placeholder == nil, T.self is any RawRepresentable.Type { placeholder = SchemaRecorder.firstCase(T.self) }
        if recursive.contains(id) {
            definitions[definitionName(T.self)] = schema
            schema = .object(["$ref": .string("#/$defs/" + definitionName(T.self))])
        }
        described[id] = (schema, placeholder)
        return (schema, placeholder)
    }

    func stop<Result>() throws -> Result {
        failed = true
        throw DerivationStop()
    }

    /// Types read as one JSON value rather than through their `init(from:)`,
    /// as JSONDecoder does for Date, URL, Data and Decimal.
    private func leaf<T>(_ type: T.Type) -> (SchemaJSON, Any)? {
        switch type {
        case is String.Type: return (.type("string"), "")
        case is Bool.Type: return (.type("boolean"), false)
        case let integer as any FixedWidthInteger.Type:
            // The decoder refuses numbers the type cannot hold; say so where it is exact.
            var bounds: [String: SchemaJSON] = [:]
            if !integer.isSigned { bounds["minimum"] = .integer(0) }
            if integer.bitWidth <= 32 {
                bounds["minimum"] = .integer(integer.isSigned ? -(1 << (integer.bitWidth - 1)) : 0)
                bounds["maximum"] = .integer(integer.isSigned ? (1 << (integer.bitWidth - 1)) - 1 : (1 << integer.bitWidth) - 1)
            }
            return (.type("integer", bounds), integer.zero)
        case let float as any BinaryFloatingPoint.Type: return (.type("number"), float.zero)
        case is Decimal.Type: return (.type("number"), Decimal())
        case is Date.Type: return (dateSchema, Date(timeIntervalSinceReferenceDate: 0))
        case is UUID.Type: return (.type("string", ["format": .string("uuid")]), UUID())
        // No `format: uri`: the decoder takes relative URLs too, and the schema must not refuse what it takes.
        case is URL.Type: return (.type("string", [:]), URL(fileURLWithPath: "/"))
        case is Data.Type: return (.type("string", ["contentEncoding": .string("base64")]), Data())
        case is Empty.Type: return (.type("object"), Empty())
        default: return nil
        }
    }

    private var dateSchema: SchemaJSON {
        switch dates {
        case .deferredToDate, .secondsSince1970, .millisecondsSince1970: .type("number")
        case .iso8601: .type("string", ["format": .string("date-time")])
        default: .object([:]) // a custom closure (or a formatter) may read anything
        }
    }

    /// A `$defs` name from the type's name, unique within this schema.
    private func definitionName<T>(_ type: T.Type) -> String {
        let id = ObjectIdentifier(type)
        if let name = definitionNames[id] { return name }
        let base = String(String(describing: type).map { $0.isLetter || $0.isNumber || $0 == "_" || $0 == "." ? $0 : "_" })
        var name = base
        var suffix = 2
        while definitionNames.values.contains(name) {
            name = base + String(suffix)
            suffix += 1
        }
        definitionNames[id] = name
        return name
    }

    private static func cases<C: CaseIterable>(_ type: C.Type) -> [Any] { type.allCases.map { $0 } }

    /// The raw values of an enum's cases, if they are all strings or all integers.
    private static func rawValues(_ cases: [Any]) -> (type: String, list: [SchemaJSON])? {
        let raw = cases.compactMap { ($0 as? any RawRepresentable)?.rawValue }
        guard !raw.isEmpty, raw.count == cases.count else { return nil }
        if case let strings as [String] = raw { return ("string", strings.map { .string($0) }) }
        let integers = raw.compactMap { ($0 as? any BinaryInteger).flatMap { Int64(exactly: $0) } }
        return integers.count == raw.count ? ("integer", integers.map { .integer($0) }) : nil
    }

    /// A value of a payload-free enum that is not `CaseIterable`, so that the
    /// type holding it can be decoded: such an enum is stored as its case's
    /// index, and index 0 is always a case. Nothing for other types.
    private static func firstCase<T>(_ type: T.Type) -> T? {
        guard MemoryLayout<T>.size <= 1, _isPOD(T.self) else { return nil }
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 1) { buffer in
            buffer.initialize(repeating: 0)
            return UnsafeRawPointer(buffer.baseAddress!).load(as: T.self)
        }
    }
}
