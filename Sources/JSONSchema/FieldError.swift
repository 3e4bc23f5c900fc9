/// One way a value fails its schema.
///
/// `field` is the JSON Pointer (RFC 6901) of the offending place in the
/// data: "" for the whole value, "/address/city", "/tags/2", with `~` and
/// `/` inside names escaped as `~0` and `~1`. For a missing required
/// property it names where the property should be.
///
/// ```swift
/// for error in schema.validate(json: body) { print("\(error.field): \(error.message)") }
/// // /age: expected integer, found string
/// // /name: missing required property 'name'
/// ```
public struct FieldError: Error, Sendable, Hashable, Codable, CustomStringConvertible {
    public var field: String
    public var message: String

    public init(field: String, message: String) {
        self.field = field
        self.message = message
    }

    public var description: String { field.isEmpty ? message : "\(field): \(message)" }
}
