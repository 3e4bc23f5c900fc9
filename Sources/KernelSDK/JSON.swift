import Foundation

/// A request or response with no fields.
///
/// ```swift
/// kernel.endpoint("ping") { (_: Empty, _) in Empty() }
/// ```
public struct Empty: Codable, Sendable, Equatable {
    public init() {}
}

/// A response sent as is, not JSON-encoded.
///
/// ```swift
/// kernel.endpoint("robots") { (_: Empty, _) in RawResponse(text: "User-agent: *\nDisallow:\n") }
/// ```
public struct RawResponse: Encodable, Sendable {
    public var bytes: [UInt8]
    public var contentType: String
    public init(_ bytes: [UInt8], contentType: String) {
        self.bytes = bytes
        self.contentType = contentType
    }
    public init(text: String, contentType: String = "text/plain; charset=utf-8") {
        self.init(Array(text.utf8), contentType: contentType)
    }
    public func encode(to encoder: Encoder) throws {}
}

/// One encoder and decoder for the plugin: both are safe to share across
/// threads, and making one per call costs more than the encoding itself.
/// Keys are written sorted, so equal values give equal bytes (caches, ETags).
enum JSON {
    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }()
    static let decoder = JSONDecoder()

    static func encode<T: Encodable>(_ value: T, what: String) throws(PluginError) -> [UInt8] {
        do {
            return Array(try encoder.encode(value))
        } catch {
            throw PluginError(.internal, "cannot encode the \(what): \(error)")
        }
    }

    /// Decodes `bytes`; a failure is `code` (by default `invalidArgument`: the peer sent it).
    static func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8], what: String,
                                     code: PluginError.Code = .invalidArgument) throws(PluginError) -> T {
        do {
            return try decoder.decode(T.self, from: Data(bytes))
        } catch {
            throw PluginError(code, "invalid \(what): \(JSONErrorText.describe(error))")
        }
    }
}

enum JSONErrorText {
    static func describe(_ error: any Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, _): "missing field '\(key.stringValue)'"
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context):
            "wrong type at '\(context.codingPath.map(\.stringValue).joined(separator: "."))'"
        case DecodingError.dataCorrupted: "not valid JSON"
        default: "\(error)"
        }
    }
}
