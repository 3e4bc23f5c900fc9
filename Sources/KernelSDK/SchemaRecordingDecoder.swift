import Foundation

// The decoder `RequestSchema.derive` hands to `init(from:)`, and what it
// records: which containers were asked for, which keys read, of which types.

/// What one decoder was asked for: a keyed container (an object), an
/// unkeyed one (an array), or a single value of some type.
final class RecordedValue {
    enum Kind {
        case unknown
        case fixed(SchemaJSON)
        case object(RecordedObject)
        case array([RecordedValue])
        /// Two kinds of container, or two values: no one schema says that.
        case conflicting
    }

    var kind = Kind.unknown
    var nullable = false
    /// A primitive was read from a single-value container.
    var decodedPrimitive = false

    /// nil when something in it was `conflicting`.
    var schema: SchemaJSON? {
        let schema: SchemaJSON
        switch kind {
        case .unknown:
            schema = .object([:]) // nothing was read: anything goes
        case .fixed(let fixed):
            schema = fixed
        case .object(let object):
            guard let built = object.schema else { return nil }
            schema = built
        case .array(let items):
            var prefix: [SchemaJSON] = []
            for item in items {
                guard let built = item.schema else { return nil }
                prefix.append(built)
            }
            // Elements read one by one, as for a tuple: JSONDecoder ignores any beyond them.
            schema = prefix.isEmpty ? .type("array") : .type("array", ["prefixItems": .array(prefix), "minItems": .integer(Int64(prefix.count))])
        case .conflicting:
            return nil
        }
        return nullable ? schema.nullable : schema
    }

    func object() -> RecordedObject {
        switch kind {
        case .unknown:
            let object = RecordedObject()
            kind = .object(object)
            return object
        case .object(let object):
            return object // several keyed containers read the same object (a class and its superclass)
        default:
            kind = .conflicting
            return RecordedObject()
        }
    }

    func array() {
        switch kind {
        case .unknown: kind = .array([])
        case .array: break
        default: kind = .conflicting
        }
    }

    func arrayElement() -> RecordedValue {
        let element = RecordedValue()
        switch kind {
        case .unknown: kind = .array([element])
        case .array(let items): kind = .array(items + [element])
        default: kind = .conflicting
        }
        return element
    }

    func set(_ schema: SchemaJSON, primitive: Bool) {
        guard case .unknown = kind else {
            kind = .conflicting
            return
        }
        kind = .fixed(schema)
        decodedPrimitive = primitive
    }
}

final class RecordedObject {
    var properties: [String: RecordedValue] = [:]
    var required: Set<String> = []
    /// Probed with `contains` or read with `decodeIfPresent`: may be absent.
    var optional: Set<String> = []

    func member(_ key: String, required: Bool) -> RecordedValue {
        if required { self.required.insert(key) } else { optional.insert(key) }
        if let value = properties[key] { return value }
        let value = RecordedValue()
        properties[key] = value
        return value
    }

    var schema: SchemaJSON? {
        var fields: [String: SchemaJSON] = ["type": .string("object")]
        var schemas: [String: SchemaJSON] = [:]
        for (key, value) in properties {
            guard let schema = value.schema else { return nil }
            schemas[key] = schema
        }
        if !schemas.isEmpty { fields["properties"] = .object(schemas) }
        let required = required.subtracting(optional).sorted()
        if !required.isEmpty { fields["required"] = .array(required.map { .string($0) }) }
        return .object(fields)
    }
}

/// The decoder handed to `init(from:)`: it reads nothing and records every request.
struct RecordingDecoder: Decoder {
    let recorder: SchemaRecorder
    let value: RecordedValue
    var codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        KeyedDecodingContainer(RecordingKeyedContainer<Key>(recorder: recorder, object: value.object(), codingPath: codingPath))
    }
    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        value.array()
        return RecordingUnkeyedContainer(recorder: recorder, value: value, codingPath: codingPath)
    }
    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        RecordingSingleValueContainer(recorder: recorder, value: value, codingPath: codingPath)
    }

    /// Records `T` as what `into` holds and returns a placeholder for it.
    static func record<T: Decodable>(_ type: T.Type, into value: RecordedValue, _ recorder: SchemaRecorder) throws -> T {
        let (schema, placeholder) = try recorder.describe(T.self)
        let primitive = T.self is String.Type || T.self is Bool.Type || T.self is any FixedWidthInteger.Type
            || T.self is any BinaryFloatingPoint.Type
        value.set(schema, primitive: primitive)
        guard let placeholder else { return try recorder.stop() } // a type still being described
        return placeholder
    }
}

struct RecordingKeyedContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let recorder: SchemaRecorder
    let object: RecordedObject
    var codingPath: [any CodingKey]
    var allKeys: [Key] { [] } // unknown: the JSON is not there

    func contains(_ key: Key) -> Bool {
        object.optional.insert(key.stringValue) // whatever follows is conditional
        return true
    }
    func decodeNil(forKey key: Key) throws -> Bool {
        object.member(key.stringValue, required: true).nullable = true
        return false
    }
    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        try RecordingDecoder.record(T.self, into: object.member(key.stringValue, required: true), recorder)
    }
    func decodeIfPresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? {
        let member = object.member(key.stringValue, required: false)
        member.set(try recorder.describe(T.self).schema, primitive: false)
        member.nullable = true // JSONDecoder takes null as absent
        return nil // absent: no placeholder needed
    }
    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try decode(generic: type, key) }
    func decode(_ type: String.Type, forKey key: Key) throws -> String { try decode(generic: type, key) }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try decode(generic: type, key) }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float { try decode(generic: type, key) }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try decode(generic: type, key) }
    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try decode(generic: type, key) }
    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try decode(generic: type, key) }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try decode(generic: type, key) }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try decode(generic: type, key) }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try decode(generic: type, key) }
    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try decode(generic: type, key) }
    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try decode(generic: type, key) }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try decode(generic: type, key) }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try decode(generic: type, key) }
    @available(macOS 15.0, iOS 18.0, watchOS 11.0, tvOS 18.0, visionOS 2.0, *)
    func decode(_ type: Int128.Type, forKey key: Key) throws -> Int128 { try decode(generic: type, key) }
    @available(macOS 15.0, iOS 18.0, watchOS 11.0, tvOS 18.0, visionOS 2.0, *)
    func decode(_ type: UInt128.Type, forKey key: Key) throws -> UInt128 { try decode(generic: type, key) }
    private func decode<T: Decodable>(generic type: T.Type, _ key: Key) throws -> T {
        try RecordingDecoder.record(T.self, into: object.member(key.stringValue, required: true), recorder)
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
        let nested = object.member(key.stringValue, required: true).object()
        return KeyedDecodingContainer(RecordingKeyedContainer<NestedKey>(recorder: recorder, object: nested, codingPath: codingPath + [key]))
    }
    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        try superDecoder(forKey: key).unkeyedContainer()
    }
    func superDecoder() throws -> any Decoder {
        RecordingDecoder(recorder: recorder, value: object.member("super", required: false), codingPath: codingPath)
    }
    func superDecoder(forKey key: Key) throws -> any Decoder {
        RecordingDecoder(recorder: recorder, value: object.member(key.stringValue, required: true), codingPath: codingPath + [key])
    }
}

/// Reports itself empty, so loops over elements end at once; elements read
/// anyway (a fixed-size tuple, say) become `prefixItems`.
struct RecordingUnkeyedContainer: UnkeyedDecodingContainer {
    let recorder: SchemaRecorder
    let value: RecordedValue
    var codingPath: [any CodingKey]
    var count: Int? { 0 }
    var isAtEnd: Bool { true }
    var currentIndex = 0

    mutating func decodeNil() throws -> Bool { false }
    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
        currentIndex += 1
        return try RecordingDecoder.record(T.self, into: value.arrayElement(), recorder)
    }
    mutating func decodeIfPresent<T: Decodable>(_ type: T.Type) throws -> T? {
        currentIndex += 1
        let element = value.arrayElement()
        element.set(try recorder.describe(T.self).schema, primitive: false)
        element.nullable = true
        return nil
    }
    mutating func decode(_ type: Bool.Type) throws -> Bool { try decode(generic: type) }
    mutating func decode(_ type: String.Type) throws -> String { try decode(generic: type) }
    mutating func decode(_ type: Double.Type) throws -> Double { try decode(generic: type) }
    mutating func decode(_ type: Float.Type) throws -> Float { try decode(generic: type) }
    mutating func decode(_ type: Int.Type) throws -> Int { try decode(generic: type) }
    mutating func decode(_ type: Int8.Type) throws -> Int8 { try decode(generic: type) }
    mutating func decode(_ type: Int16.Type) throws -> Int16 { try decode(generic: type) }
    mutating func decode(_ type: Int32.Type) throws -> Int32 { try decode(generic: type) }
    mutating func decode(_ type: Int64.Type) throws -> Int64 { try decode(generic: type) }
    mutating func decode(_ type: UInt.Type) throws -> UInt { try decode(generic: type) }
    mutating func decode(_ type: UInt8.Type) throws -> UInt8 { try decode(generic: type) }
    mutating func decode(_ type: UInt16.Type) throws -> UInt16 { try decode(generic: type) }
    mutating func decode(_ type: UInt32.Type) throws -> UInt32 { try decode(generic: type) }
    mutating func decode(_ type: UInt64.Type) throws -> UInt64 { try decode(generic: type) }
    @available(macOS 15.0, iOS 18.0, watchOS 11.0, tvOS 18.0, visionOS 2.0, *)
    mutating func decode(_ type: Int128.Type) throws -> Int128 { try decode(generic: type) }
    @available(macOS 15.0, iOS 18.0, watchOS 11.0, tvOS 18.0, visionOS 2.0, *)
    mutating func decode(_ type: UInt128.Type) throws -> UInt128 { try decode(generic: type) }
    private mutating func decode<T: Decodable>(generic type: T.Type) throws -> T {
        currentIndex += 1
        return try RecordingDecoder.record(T.self, into: value.arrayElement(), recorder)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
        try superDecoder().container(keyedBy: type)
    }
    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        try superDecoder().unkeyedContainer()
    }
    mutating func superDecoder() throws -> any Decoder {
        currentIndex += 1
        return RecordingDecoder(recorder: recorder, value: value.arrayElement(), codingPath: codingPath)
    }
}

struct RecordingSingleValueContainer: SingleValueDecodingContainer {
    let recorder: SchemaRecorder
    let value: RecordedValue
    var codingPath: [any CodingKey]

    func decodeNil() -> Bool {
        value.nullable = true // asked, so null is expected (Optional decodes this way)
        return false
    }
    func decode<T: Decodable>(_ type: T.Type) throws -> T { try RecordingDecoder.record(T.self, into: value, recorder) }
    func decode(_ type: Bool.Type) throws -> Bool { try RecordingDecoder.record(type, into: value, recorder) }
    func decode(_ type: String.Type) throws -> String { try RecordingDecoder.record(type, into: value, recorder) }
    func decode(_ type: Double.Type) throws -> Double { try RecordingDecoder.record(type, into: value, recorder) }
    func decode(_ type: Float.Type) throws -> Float { try RecordingDecoder.record(type, into: value, recorder) }
    func decode(_ type: Int.Type) throws -> Int { try RecordingDecoder.record(type, into: value, recorder) }
    func decode(_ type: Int8.Type) throws -> Int8 { try RecordingDecoder.record(type, into: value, recorder) }
    func decode(_ type: Int16.Type) throws -> Int16 { try RecordingDecoder.record(type, into: value, recorder) }
    func decode(_ type: Int32.Type) throws -> Int32 { try RecordingDecoder.record(type, into: value, recorder) }
    func decode(_ type: Int64.Type) throws -> Int64 { try RecordingDecoder.record(type, into: value, recorder) }
    func decode(_ type: UInt.Type) throws -> UInt { try RecordingDecoder.record(type, into: value, recorder) }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try RecordingDecoder.record(type, into: value, recorder) }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try RecordingDecoder.record(type, into: value, recorder) }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try RecordingDecoder.record(type, into: value, recorder) }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try RecordingDecoder.record(type, into: value, recorder) }
    @available(macOS 15.0, iOS 18.0, watchOS 11.0, tvOS 18.0, visionOS 2.0, *)
    func decode(_ type: Int128.Type) throws -> Int128 { try RecordingDecoder.record(type, into: value, recorder) }
    @available(macOS 15.0, iOS 18.0, watchOS 11.0, tvOS 18.0, visionOS 2.0, *)
    func decode(_ type: UInt128.Type) throws -> UInt128 { try RecordingDecoder.record(type, into: value, recorder) }
}
