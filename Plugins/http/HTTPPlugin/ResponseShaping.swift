import CompressNIO
import Foundation
import NIOCore
import NIOHTTP1

/// What HTTP adds to a handler's whole answer on the way out: 304 for a
/// conditional GET whose validator still holds, and compression.
enum ResponseShaping {
    /// A CORS preflight: OPTIONS with `Origin` and `Access-Control-Request-Method`.
    static func isPreflight(_ request: HTTPRequestHead) -> Bool {
        request.method == .OPTIONS && request.headers.contains(name: "origin")
            && request.headers.contains(name: "access-control-request-method")
    }

    /// A GET or HEAD whose `If-None-Match` names the response's `ETag` (weak
    /// comparison, RFC 9110 13.1.2), or, without `If-None-Match`, whose
    /// `If-Modified-Since` is not before its `Last-Modified`.
    static func isNotModified(_ request: HTTPRequestHead, _ response: [(name: String, value: String)]) -> Bool {
        guard request.method == .GET || request.method == .HEAD else { return false }
        func header(_ name: String) -> String? { response.first { $0.name.lowercased() == name }?.value }
        if let condition = request.headers.first(name: "if-none-match") {
            guard let etag = header("etag") else { return false }
            let tag = opaqueTag(etag)
            return condition.split(separator: ",").contains { candidate in
                let candidate = candidate.trimmingCharacters(in: .whitespaces)
                return candidate == "*" || opaqueTag(candidate) == tag
            }
        }
        guard let since = request.headers.first(name: "if-modified-since").flatMap(parseDate),
              let modified = header("last-modified").flatMap(parseDate) else { return false }
        return modified <= since
    }

    private static func opaqueTag<S: StringProtocol>(_ tag: S) -> Substring {
        let text = Substring(tag)
        return text.hasPrefix("W/") ? text.dropFirst(2) : text
    }

    /// IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), the only form senders may use.
    static func parseDate(_ text: String) -> Date? {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        return formatter.date(from: text)
    }

    /// The body compressed with the client's preferred of gzip and deflate,
    /// and the answer's headers with those that say so; nil when it is small, already encoded,
    /// not text-like, or the client takes neither.
    static func compress(_ body: ByteBuffer, contentType: String, headers: [(name: String, value: String)],
                         request: HTTPRequestHead, minimumSize: Int) -> (body: ByteBuffer, headers: [(name: String, value: String)])? {
        guard minimumSize > 0, body.readableBytes >= minimumSize, request.method != .HEAD, isCompressible(contentType),
              !headers.contains(where: { $0.name.lowercased() == "content-encoding" }),
              let accepted = request.headers.first(name: "accept-encoding"),
              let algorithm = preferredAlgorithm(accepted) else { return nil }
        var input = body
        guard let output = try? input.compress(with: algorithm == "gzip" ? .gzip() : .deflate()),
              output.readableBytes < body.readableBytes else { return nil }
        // Other bytes, the same resource: a strong validator becomes weak (RFC 9110 8.8.1).
        let shaped = headers.map { header -> (name: String, value: String) in
            header.name.lowercased() == "etag" && !header.value.hasPrefix("W/") ? (header.name, "W/" + header.value) : header
        }
        return (output, shaped + [("content-encoding", algorithm), ("vary", "accept-encoding")])
    }

    static func isCompressible(_ contentType: String) -> Bool {
        let type = contentType.lowercased()
        return type.isEmpty || type.hasPrefix("text/") || type.contains("json") || type.contains("xml")
            || type.hasPrefix("application/javascript") || type.contains("+json")
    }

    /// gzip or deflate, whichever the client weighs higher (gzip on a tie);
    /// `*` stands for the codings not named; q=0 refuses.
    static func preferredAlgorithm(_ header: String) -> String? {
        var weights: [String: Double] = [:]
        var wildcard: Double?
        for part in header.split(separator: ",") {
            let pieces = part.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
            guard let name = pieces.first else { continue }
            let q = pieces.dropFirst().first { $0.hasPrefix("q=") }.flatMap { Double($0.dropFirst(2)) } ?? 1
            if name == "*" { wildcard = q } else { weights[name] = q }
        }
        let gzip = weights["gzip"] ?? wildcard ?? 0, deflate = weights["deflate"] ?? wildcard ?? 0
        if gzip <= 0 && deflate <= 0 { return nil }
        return gzip >= deflate ? "gzip" : "deflate"
    }
}
