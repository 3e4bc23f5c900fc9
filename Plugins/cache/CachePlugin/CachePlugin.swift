import KernelSDK
import MiddlewareKit

/// The `cache` core plugin: keeps the answers of GET routes and idempotent
/// endpoints that their handler marked cacheable (`Cache-Control: public,
/// max-age=N`, `request.cacheControl(maxAge:)`), and serves them again
/// until they expire, without the handler. Bounded in entries and bytes;
/// what a plugin served is dropped when that plugin reloads or unloads.
/// Authentication runs before it (order -400, after auth's -600), and an
/// authenticated caller's answers are kept per subject.
struct CachePlugin: Plugin {
    static let name = "cache"
    static let version = "1.0.0"
    static let description = "Response cache for GET routes and idempotent endpoints, per Cache-Control"

    func register(with kernel: PluginContext) async throws {
        let settings = try CacheSettings(kernel)
        let store = ResponseStore(maxEntries: settings.maxEntries, maxBytes: settings.maxBytes)
        let scope = settings.scope

        kernel.middleware("cache", order: settings.order, endpoints: scope.kernelPattern) { request in
            guard !request.hasMeta("call.preflight"), scope.isEverything || scope.includes(request),
                  request.meta("endpoint.kind", is: "unary"), CacheKey.isAnonymousOrAuthenticated(request, settings),
                  let key = CacheKey.make(request, varyBy: settings.varyHeaders) else { return .next }
            if let entry = store.lookup(key) {
                for (name, value) in entry.headers { request.setResponseMeta(name, value) }
                request.setResponseHeader("age", String(entry.age))
                request.setResponseHeader("x-cache", "hit")
                return .answer(entry.body, contentType: entry.contentType)
            }
            request.setResponseHeader("x-cache", "miss")
            let plugin = request.meta("endpoint.plugin") ?? ""
            request.onComplete { outcome in
                guard outcome.isSuccess, outcome.bodyCount <= settings.maxEntrySize else { return }
                let meta = outcome.responseMeta
                guard let ttl = Freshness.seconds(meta, fallback: settings.defaultTTL),
                      Freshness.isShareable(meta, varyingBy: settings.varyHeaders) else { return }
                // What describes the answer, not the request it came with (ids, CORS, rate limits, cookies).
                let headers = meta.filter { CacheSettings.keptHeaders.contains($0.key) }
                store.insert(key, CachedResponse(body: outcome.body, contentType: outcome.contentType, headers: headers,
                                                 plugin: plugin, ttl: ttl))
            }
            return .next
        }

        // A reloaded plugin may answer differently: forget what it answered.
        for topic in ["kernel.plugin.reloaded", "kernel.plugin.unloaded"] {
            kernel.on(topic) { event in
                if let name = try? event.decode(PluginName.self).name { store.removeAll(servedBy: name) }
            }
        }

        kernel.endpoint("cache.stats", description: "Entries, bytes, hits and misses (operator)") {
            (_: Empty, request) throws -> ResponseStore.Stats in
            try request.requireOperator()
            return store.stats
        }
        kernel.endpoint("cache.clear", description: "Drops every entry (operator)") { (_: Empty, request) throws -> Empty in
            try request.requireOperator()
            store.removeAll(servedBy: nil)
            return Empty()
        }
    }

    struct PluginName: Decodable { var name: String }
}

@_cdecl("kn_plugin_entry")
public func entry(_ host: UnsafeRawPointer?) -> UnsafeRawPointer? { export(CachePlugin.self, host: host) }
