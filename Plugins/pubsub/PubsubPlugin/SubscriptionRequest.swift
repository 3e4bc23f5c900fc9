import KernelSDK
import TopicPatterns

/// What a subscriber asks for: `{"patterns":[…],"since":…,"overflow":…}`
/// (envelope `subscribe`), or the query of `GET /events…`.
struct SubscriptionRequest: Decodable, Sendable {
    var patterns: [String]?
    var since: Since?
    var overflow: String?

    /// An offset (events after it) or an RFC 3339 time (events at or after it).
    enum Since: Decodable, Sendable {
        case offset(UInt64)
        case time(Int64)

        init(from decoder: Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let offset = try? container.decode(UInt64.self) { self = .offset(offset); return }
            let text = try container.decode(String.self)
            guard let since = Since(text) else {
                throw DecodingError.dataCorruptedError(in: container, debugDescription: "since must be an offset or an RFC 3339 time")
            }
            self = since
        }

        init?(_ text: String) {
            if let offset = UInt64(text) { self = .offset(offset); return }
            guard let milliseconds = WireJSON.milliseconds(of: text) else { return nil }
            self = .time(milliseconds)
        }
    }

    init(patterns: [String]?, since: Since?, overflow: String?) {
        self.patterns = patterns
        self.since = since
        self.overflow = overflow
    }

    /// From `GET /events?topics=a.*,b.#&since=…` (the query of the request).
    init(query: [String: String]) throws(PluginError) {
        patterns = query["topics"].map { $0.split(separator: ",").map(String.init) } ?? ["#"]
        if let text = query["since"], !text.isEmpty {
            guard let since = Since(text) else { throw PluginError(.invalidArgument, "since must be an offset or an RFC 3339 time") }
            self.since = since
        }
        overflow = query["overflow"]
    }

    func checkedPatterns() throws(PluginError) -> [TopicPattern] {
        guard let patterns, !patterns.isEmpty else { throw PluginError(.invalidArgument, "patterns: at least one topic pattern") }
        var checked: [TopicPattern] = []
        for pattern in patterns {
            do { checked.append(try TopicPattern(validating: pattern)) } catch { throw PluginError(.invalidArgument, error.description) }
        }
        return checked
    }

    func checkedOverflow(_ fallback: PubsubSettings.Overflow) throws(PluginError) -> PubsubSettings.Overflow {
        guard let overflow else { return fallback }
        guard let value = PubsubSettings.Overflow(rawValue: overflow) else {
            throw PluginError(.invalidArgument, "overflow must be 'disconnect' or 'drop'")
        }
        return value
    }
}

extension RequestContext {
    /// The query parameters of an HTTP request, percent-decoded.
    var queryParameters: [String: String] {
        var result: [String: String] = [:]
        guard let query = meta("query") ?? meta("http.query") else { return result }
        for pair in query.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ text: Substring) -> String {
                String(text).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(text)
            }
            result[decode(parts[0])] = parts.count > 1 ? decode(parts[1]) : ""
        }
        return result
    }
}
