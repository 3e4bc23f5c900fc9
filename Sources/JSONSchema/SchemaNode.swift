import Foundation

/// A compiled schema: one per schema object in the document, referring to
/// its subschemas by index in `Schema.nodes` (so `$ref` cycles need no
/// back-pointers). Keywords are grouped by the kind of value they apply to;
/// a group is nil when the schema has none of its keywords.
final class SchemaNode: Sendable {
    /// Where this schema is in the document.
    let pointer: String
    let keywords: Keywords

    init(pointer: String, keywords: Keywords) {
        self.pointer = pointer
        self.keywords = keywords
    }
}

struct Keywords: Sendable {
    /// The `false` schema: nothing is valid.
    var rejectsAll = false
    var types: TypeSet?
    var typeNames: [String] = [] // as written, for messages
    var enumValues: [JSONValue]?
    var constValue: JSONValue?
    var object: ObjectKeywords?
    var array: ArrayKeywords?
    var number: NumberKeywords?
    var string: StringKeywords?
    var allOf: [Int] = []
    var anyOf: [Int]?
    var oneOf: [Int]?
    var not: Int?
    var conditional: Conditional?
    var ref: Int?

    /// The subschemas applied to the same value as this one (not to a
    /// member): a cycle through these alone would never terminate.
    var inPlace: [Int] {
        var nodes = allOf + (anyOf ?? []) + (oneOf ?? [])
        if let not { nodes.append(not) }
        if let conditional { nodes += [conditional.condition, conditional.then, conditional.otherwise].compactMap { $0 } }
        if let ref { nodes.append(ref) }
        if let object { nodes += object.dependentSchemas.map(\.node) }
        return nodes
    }
}

/// `if`, `then` and `else`: the value is checked against `then` if it
/// matches `condition`, else against `otherwise`.
struct Conditional: Sendable {
    var condition: Int
    var then: Int? = nil
    var otherwise: Int? = nil
}

/// The seven JSON Schema type names as a set.
struct TypeSet: OptionSet, Sendable {
    let rawValue: UInt8
    static let null = TypeSet(rawValue: 1)
    static let boolean = TypeSet(rawValue: 2)
    static let object = TypeSet(rawValue: 4)
    static let array = TypeSet(rawValue: 8)
    static let number = TypeSet(rawValue: 16)
    static let integer = TypeSet(rawValue: 32)
    static let string = TypeSet(rawValue: 64)

    static let byName: [String: TypeSet] = [
        "null": .null, "boolean": .boolean, "object": .object, "array": .array,
        "number": .number, "integer": .integer, "string": .string,
    ]

    func contains(typeOf value: JSONValue) -> Bool {
        switch value {
        case .null: contains(.null)
        case .bool: contains(.boolean)
        case .object: contains(.object)
        case .array: contains(.array)
        case .string: contains(.string)
        case .integer, .number: contains(.number) || (contains(.integer) && value.isInteger)
        }
    }
}

struct ObjectKeywords: Sendable {
    /// Sorted by name, so errors come in a stable order.
    var properties: [(name: String, node: Int)] = []
    var propertyNodes: [String: Int] = [:]
    var patternProperties: [(pattern: Pattern, node: Int)] = []
    var additionalProperties: Int?
    var propertyNames: Int?
    var required: [String] = []
    var dependentRequired: [(name: String, requires: [String])] = []
    var dependentSchemas: [(name: String, node: Int)] = []
    var minProperties: Int?
    var maxProperties: Int?

    /// Whether members beyond `properties` need looking at.
    var visitsAllMembers: Bool { !patternProperties.isEmpty || additionalProperties != nil || propertyNames != nil }
}

struct ArrayKeywords: Sendable {
    var prefixItems: [Int] = []
    var items: Int?
    var contains: Int?
    var minContains = 1
    var maxContains: Int?
    var minItems: Int?
    var maxItems: Int?
    var uniqueItems = false
}

struct NumberKeywords: Sendable {
    var minimum: Bound?
    var maximum: Bound?
    var exclusiveMinimum: Bound?
    var exclusiveMaximum: Bound?
    var multipleOf: Bound?
}

/// A number from the schema, kept exact when it is an integer.
struct Bound: Sendable {
    let value: JSONValue
    let double: Double
    init(_ value: JSONValue) {
        self.value = value
        self.double = value.doubleValue ?? .nan
    }
    var text: String { value.description }
}

struct StringKeywords: Sendable {
    var minLength: Int?
    var maxLength: Int?
    var pattern: Pattern?
    var format: Format?
}

/// A regular expression compiled once. NSRegularExpression is immutable and
/// safe to use from several threads at once.
struct Pattern: @unchecked Sendable {
    let source: String
    let regex: NSRegularExpression

    init?(_ source: String) {
        guard let regex = try? NSRegularExpression(pattern: source) else { return nil }
        self.source = source
        self.regex = regex
    }

    /// JSON Schema patterns are not anchored: a match anywhere counts.
    func matches(_ string: String) -> Bool {
        let range = NSRange(location: 0, length: string.utf16.count)
        return regex.rangeOfFirstMatch(in: string, options: [], range: range).location != NSNotFound
    }
}
