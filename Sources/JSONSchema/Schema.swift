/// A JSON Schema (draft 2020-12), compiled once and used for any number of
/// validations, from any thread.
///
/// Supported: `type`, `enum`, `const`; `properties`, `required`,
/// `additionalProperties`, `patternProperties`, `propertyNames`,
/// `minProperties`, `maxProperties`, `dependentRequired`, `dependentSchemas`;
/// `items`, `prefixItems`, `minItems`, `maxItems`, `uniqueItems`, `contains`,
/// `minContains`, `maxContains`; `minimum`, `maximum`, `exclusiveMinimum`,
/// `exclusiveMaximum`, `multipleOf`; `minLength`, `maxLength`, `pattern`,
/// `format` (date-time, date, time, email, uuid, uri, ipv4); `allOf`,
/// `anyOf`, `oneOf`, `not`, `if`/`then`/`else`; `true`/`false` schemas;
/// `$ref` within the document and `$defs`/`definitions`. Annotations and
/// unknown keywords are ignored; constraining keywords that are not
/// supported (`unevaluatedProperties`, `$dynamicRef`…) are refused.
///
/// ```swift
/// let schema = try Schema(text: """
///     {"type": "object", "required": ["name"],
///      "properties": {"name": {"type": "string", "minLength": 1}, "age": {"type": "integer", "minimum": 0}}}
///     """)
/// let errors = schema.validate(json: Array(#"{"age": -1}"#.utf8))
/// // [/name: missing required property 'name', /age: must be ≥ 0]
/// ```
public final class Schema: Sendable {
    /// At most this many errors are reported for one value.
    public static let maxErrors = 100
    /// Arrays and objects nested deeper than this are an error, not a
    /// deeper recursion: hostile input cannot exhaust the stack.
    public static let maxDepth = JSONValue.defaultMaxDepth

    /// Node 0 is the root.
    let nodes: [SchemaNode]

    /// Compiles a schema given as a value.
    ///
    /// ```swift
    /// let schema = try Schema(["type": "array", "items": ["type": "string"]])
    /// ```
    public init(_ document: JSONValue) throws(SchemaError) {
        nodes = try SchemaCompiler.compile(document)
    }

    /// Compiles a schema from JSON bytes.
    ///
    /// ```swift
    /// let schema = try Schema(json: Array(try Data(contentsOf: url)))
    /// ```
    public convenience init(json: [UInt8]) throws(SchemaError) {
        let document: JSONValue
        do {
            document = try JSONValue.parse(json)
        } catch {
            throw SchemaError(pointer: "", message: "not valid JSON: \(error)")
        }
        try self.init(document)
    }

    /// Compiles a schema from JSON text.
    ///
    /// ```swift
    /// let schema = try Schema(text: #"{"type": "string", "format": "email"}"#)
    /// ```
    public convenience init(text: String) throws(SchemaError) {
        try self.init(json: Array(text.utf8))
    }

    /// Every way `value` fails the schema (up to `maxErrors`), in a stable
    /// order; empty when it is valid.
    ///
    /// ```swift
    /// let errors = schema.validate(["name": "", "age": "old"])
    /// // [/age: expected integer, found string, /name: must be at least 1 character]
    /// ```
    public func validate(_ value: JSONValue) -> [FieldError] {
        var validator = Validator(nodes: nodes, limit: Schema.maxErrors, maxDepth: Schema.maxDepth)
        validator.validate(value, 0)
        return validator.errors
    }

    /// Parses and validates a request body. A body that is not JSON gives
    /// one error for the whole body: "not valid JSON: …".
    ///
    /// ```swift
    /// let errors = schema.validate(json: request.body)
    /// if !errors.isEmpty { throw PluginError(.invalidArgument, errors.map(\.description).joined(separator: "; ")) }
    /// ```
    public func validate(json bytes: [UInt8]) -> [FieldError] {
        do {
            return validate(try JSONValue.parse(bytes, maxDepth: Schema.maxDepth))
        } catch {
            return [FieldError(field: "", message: "not valid JSON: \(error)")]
        }
    }

    /// Whether `value` is valid; stops at the first failure.
    ///
    /// ```swift
    /// if schema.isValid(["name": "Ada"]) { … }
    /// ```
    public func isValid(_ value: JSONValue) -> Bool {
        var validator = Validator(nodes: nodes, limit: 1, maxDepth: Schema.maxDepth)
        validator.validate(value, 0)
        return validator.errors.isEmpty
    }
}
