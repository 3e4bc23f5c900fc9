import KernelSDK
import MiddlewareKit

/// The `[cache]` section.
struct CacheSettings: Sendable {
    /// `order` (default -400: after authentication and rate limits).
    var order: Int32
    /// `endpoints`, `protocols`, `methods`.
    var scope: CallScope
    /// `vary_headers` (default `accept`): request headers that take part in the key.
    var varyHeaders: [String]
    /// `max_entries` (default 10000) and `max_bytes` (default 64 MiB): the bounds.
    var maxEntries: Int
    var maxBytes: Int
    /// `max_entry_size` (default 1 MiB): larger answers are not kept.
    var maxEntrySize: Int
    /// `default_ttl_ms` (default 0): how long to keep an answer that says
    /// nothing of caching; 0 keeps only answers marked `public, max-age`.
    var defaultTTL: Int

    init(_ kernel: PluginContext) throws {
        order = try kernel.order("order", default: -400)
        scope = CallScope(kernel, prefix: "")
        varyHeaders = (kernel.config("vary_headers") ?? "accept").split(separator: ",").map { $0.trimmingSpaces.lowercased() }
            .filter { !$0.isEmpty }
        maxEntries = max(1, kernel.config("max_entries", default: 10_000))
        maxBytes = max(1024, kernel.config("max_bytes", default: 64 << 20))
        maxEntrySize = max(0, kernel.config("max_entry_size", default: 1 << 20))
        defaultTTL = max(0, kernel.config("default_ttl_ms", default: 0) / 1000)
    }
}

/// What makes two requests the same for the cache: the endpoint, the
/// method, path and query (HTTP), the body (an idempotent endpoint's
/// arguments), the subject of an authenticated caller, and the vary headers.
enum CacheKey {
    /// nil when the call is not cacheable: neither a GET/HEAD route nor an idempotent endpoint.
    static func make(_ request: RequestContext, varyBy headers: [String]) -> String? {
        let method = request.meta("http.method")
        let isRead = method == "GET" || method == "HEAD"
        guard isRead || request.meta("endpoint.idempotent") == "1" else { return nil }
        var key = request.endpoint + "\u{1}" + (isRead ? "GET" : "") + "\u{1}" + (request.meta("http.path") ?? "")
            + "\u{1}" + (request.meta("http.query") ?? "") + "\u{1}" + (request.meta("auth.subject") ?? "")
        if !isRead { key += "\u{1}" + String(decoding: request.body, as: UTF8.self) }
        for name in headers { key += "\u{1}" + (request.header(name) ?? "") }
        return key
    }
}

/// How long an answer may be kept, from its `Cache-Control`.
enum Freshness {
    /// `s-maxage` or `max-age` seconds of a public answer; nil for `no-store`,
    /// `no-cache`, `private`, or none of them and no fallback.
    static func seconds(_ meta: [(key: String, value: String)], fallback: Int) -> Int? {
        guard let control = meta.first(where: { $0.key == "header.cache-control" })?.value.lowercased() else {
            return fallback > 0 ? fallback : nil
        }
        let directives = control.split(separator: ",").map { $0.trimmingSpaces }
        if directives.contains(where: { $0 == "no-store" || $0 == "no-cache" || $0 == "private" }) { return nil }
        for name in ["s-maxage=", "max-age="] {
            if let directive = directives.first(where: { $0.hasPrefix(name) }), let value = Int(directive.dropFirst(name.count)) {
                return value > 0 ? value : nil
            }
        }
        return fallback > 0 ? fallback : nil
    }
}
