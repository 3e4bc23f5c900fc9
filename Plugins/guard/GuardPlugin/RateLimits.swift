import KernelSDK
import MiddlewareKit

/// One limit: `count` calls per `period`, bursts up to `burst`, counted per key.
///
/// Text form: `100/s`, `5/m burst 10 by ip`, `1000/h by header:x-api-key`;
/// units s, m, h, d; keys `ip` (the default), `subject` (`auth.subject`,
/// else the ip), `header:<name>`, `endpoint` (one bucket for all callers).
struct RateLimit: Sendable, CustomStringConvertible {
    enum Key: Sendable, Equatable {
        case ip, subject, endpoint
        case header(String)
    }

    let count: Int
    let periodSeconds: Double
    let burst: Int
    let key: Key
    let text: String

    init(_ text: String) throws {
        self.text = text
        let words = text.split(separator: " ").map(String.init)
        guard let rate = words.first, let slash = rate.firstIndex(of: "/"), let count = Int(rate[..<slash]), count > 0 else {
            throw ConfigError("'\(text)': expected <count>/<unit> (100/s, 5/m)")
        }
        self.count = count
        switch rate[rate.index(after: slash)...] {
        case "s", "sec", "second": periodSeconds = 1
        case "m", "min", "minute": periodSeconds = 60
        case "h", "hour": periodSeconds = 3600
        case "d", "day": periodSeconds = 86_400
        case let unit: throw ConfigError("'\(text)': unknown unit '\(unit)' (s, m, h, d)")
        }
        var burst = count, key = Key.ip
        var rest = words.dropFirst()
        while let word = rest.popFirst() {
            guard let value = rest.popFirst() else { throw ConfigError("'\(text)': '\(word)' needs a value") }
            switch word {
            case "burst":
                guard let number = Int(value), number > 0 else { throw ConfigError("'\(text)': burst must be a positive number") }
                burst = number
            case "by":
                switch value {
                case "ip": key = .ip
                case "subject": key = .subject
                case "endpoint": key = .endpoint
                case _ where value.hasPrefix("header:") && value.count > 7: key = .header(String(value.dropFirst(7)).lowercased())
                default: throw ConfigError("'\(text)': unknown key '\(value)' (ip, subject, header:<name>, endpoint)")
                }
            default: throw ConfigError("'\(text)': unknown word '\(word)' (burst, by)")
            }
        }
        self.burst = burst
        self.key = key
    }

    var description: String { text }

    /// Tokens added per second.
    var refillRate: Double { Double(count) / periodSeconds }

    /// The caller's bucket key for this call.
    func bucketKey(_ request: RequestContext, trustForwarded: Bool) -> String {
        let endpoint = request.endpoint
        switch key {
        case .endpoint: return endpoint
        case .ip: return endpoint + "|ip|" + Self.clientIP(request, trustForwarded: trustForwarded)
        case .subject:
            if let subject = request.meta("auth.subject"), !subject.isEmpty { return endpoint + "|sub|" + subject }
            return endpoint + "|ip|" + Self.clientIP(request, trustForwarded: trustForwarded)
        case .header(let name):
            return endpoint + "|h|" + (request.header(name) ?? "")
        }
    }

    /// The peer's address without its port; behind a trusted proxy, the
    /// last `X-Forwarded-For` address: the one that proxy saw. (The first
    /// is whatever the client wrote, and would give every request a bucket of its own.)
    static func clientIP(_ request: RequestContext, trustForwarded: Bool) -> String {
        if trustForwarded, let forwarded = request.header("x-forwarded-for"),
           let last = forwarded.split(separator: ",").last?.trimmingSpaces, !last.isEmpty {
            return last
        }
        guard let peer = request.meta("peer"), let colon = peer.lastIndex(of: ":") else { return request.meta("peer") ?? "" }
        return String(peer[..<colon])
    }
}
