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

    /// The response headers kept with an answer and replayed on a hit.
    static let keptHeaders: Set<String> = ["header.etag", "header.last-modified", "header.cache-control", "header.expires",
                                           "header.content-language", "header.vary"]

    /// Request headers that carry credentials.
    let credentialHeaders: [String]

    init(_ kernel: PluginContext) throws {
        credentialHeaders = ["header.authorization", "header.cookie",
                             "header." + (kernel.config("api_key_header") ?? "x-api-key").lowercased()]
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
            + "\u{1}" + (request.meta("http.query") ?? "") + "\u{1}" + (request.meta("auth.method") ?? "")
            + "\u{1}" + (request.meta("auth.tenant") ?? "") + "\u{1}" + (request.meta("auth.subject") ?? "")
        if !isRead { key += "\u{1}" + String(decoding: request.body, as: UTF8.self) }
        for name in headers { key += "\u{1}" + (request.header(name) ?? "") }
        return key
    }
}

extension CacheKey {
    /// A request with credentials that no authentication middleware before
    /// this one turned into `auth.subject` is neither served from nor kept
    /// in the cache: its answer may depend on a check that runs later.
    static func isAnonymousOrAuthenticated(_ request: RequestContext, _ settings: CacheSettings) -> Bool {
        request.hasMeta("auth.subject") || !settings.credentialHeaders.contains { request.hasMeta($0) }
    }
}

/// How long an answer may be kept, from its `Cache-Control`.
enum Freshness {
    /// Whether the answer may go to another caller: no cookie set, and any
    /// `Vary` names only headers in the key (`origin`, say, is not: an
    /// answer for one origin must not reach another).
    static func isShareable(_ meta: [(key: String, value: String)], varyingBy headers: [String]) -> Bool {
        if meta.contains(where: { $0.key == "header.set-cookie" }) { return false }
        guard let vary = meta.first(where: { $0.key == "header.vary" })?.value.lowercased() else { return true }
        return vary.split(separator: ",").allSatisfy { headers.contains($0.trimmingSpaces) || $0.trimmingSpaces == "accept-encoding" }
    }

    /// `s-maxage` or `max-age` seconds of a public answer; nil for `no-store`,
    /// `no-cache`, `private`, or none of them and no fallback.
    static func seconds(_ meta: [(key: String, value: String)], fallback: Int) -> Int? {
        guard let control = meta.first(where: { $0.key == "header.cache-control" })?.value.lowercased() else {
            return fallback > 0 ? fallback : nil
        }
        let directives = control.split(separator: ",").map { $0.trimmingSpaces }
        if directives.contains(where: { $0 == "no-store" || $0 == "no-cache" || $0 == "private" }) { return nil }
        // A shared cache keeps what says `public` or `s-maxage`: a bare max-age is for the browser.
        if let directive = directives.first(where: { $0.hasPrefix("s-maxage=") }), let value = Int(directive.dropFirst(9)) {
            return value > 0 ? value : nil
        }
        if directives.contains("public"),
           let directive = directives.first(where: { $0.hasPrefix("max-age=") }), let value = Int(directive.dropFirst(8)) {
            return value > 0 ? value : nil
        }
        return fallback > 0 && !directives.contains(where: { $0.hasPrefix("max-age=") }) ? fallback : nil
    }
}
