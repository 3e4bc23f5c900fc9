/// Why bytes are not a JSON document, and where: `message` says what was
/// found at byte `offset`.
///
/// ```swift
/// do { _ = try JSONValue.parse(Array("[1,".utf8)) }
/// catch { print(error) }   // unexpected end of input at offset 3
/// ```
public struct JSONParseError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public var offset: Int
    public var description: String { "\(message) at offset \(offset)" }
}

extension JSONValue {
    /// The deepest nesting of arrays and objects `parse` accepts by default.
    public static let defaultMaxDepth = 256

    /// Parses one JSON document (RFC 8259; any value at the top level, so
    /// `3` and `"x"` are documents too).
    ///
    /// The parser is hand-written rather than `JSONDecoder`: it is several
    /// times faster on untyped values, says where the input goes wrong, and
    /// refuses nesting deeper than `maxDepth` before it can exhaust the stack.
    /// As with `JSONDecoder`, a repeated key keeps its first value, and invalid
    /// UTF-8, unpaired surrogates and numbers beyond a Double are errors;
    /// unlike it, a trailing comma is an error too, as RFC 8259 says.
    ///
    /// ```swift
    /// let value = try JSONValue.parse(Array(#"{"ids": [1, 2.5]}"#.utf8))
    /// ```
    public static func parse(_ bytes: [UInt8], maxDepth: Int = defaultMaxDepth) throws(JSONParseError) -> JSONValue {
        let result: Result<JSONValue, JSONParseError> = bytes.withUnsafeBufferPointer { buffer in
            var parser = JSONParser(bytes: buffer, maxDepth: maxDepth)
            return Result { () throws(JSONParseError) in try parser.document() }
        }
        return try result.get()
    }

    /// Parses JSON text; see `parse(_:maxDepth:)`.
    public static func parse(_ text: String, maxDepth: Int = defaultMaxDepth) throws(JSONParseError) -> JSONValue {
        try parse(Array(text.utf8), maxDepth: maxDepth)
    }
}
