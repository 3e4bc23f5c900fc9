/// A stream whose handler frames its own items, e.g. Server-Sent Events
/// with its own `id:` and `event:` lines: it sets response metadata
/// `stream.raw` = `1` before its first item, and the transport writes each
/// item as it is, with no end or error message of its own.
enum RawStream {
    static let flag = "stream.raw"
    static let defaultContentType = "application/octet-stream"

    /// The content type of a raw stream (`header.content-type`, else
    /// `application/octet-stream`); nil when the transport frames the stream.
    static func contentType(responseMeta: (String) -> String?) -> String? {
        guard responseMeta(flag) == "1" else { return nil }
        guard let type = responseMeta("header.content-type"), !type.isEmpty else { return defaultContentType }
        return type
    }
}
