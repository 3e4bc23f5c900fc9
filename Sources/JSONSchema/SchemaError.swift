/// Why a schema cannot be compiled: not JSON, a keyword used wrongly, a
/// `$ref` that does not resolve, or a keyword this validator does not support
/// (rather than silently accepting more than the schema means).
///
/// `pointer` is the JSON Pointer of the offending keyword in the schema.
///
/// ```swift
/// do { _ = try Schema(text: #"{"properties": {"age": {"type": 3}}}"#) }
/// catch { print(error) }   // schema /properties/age/type: expected a type name or an array of them
/// ```
public struct SchemaError: Error, Sendable, Equatable, CustomStringConvertible {
    public var pointer: String
    public var message: String

    public init(pointer: String, message: String) {
        self.pointer = pointer
        self.message = message
    }

    public var description: String { pointer.isEmpty ? "schema: \(message)" : "schema \(pointer): \(message)" }
}
