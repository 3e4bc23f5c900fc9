import MiddlewareKit
import Synchronization

/// An answer kept by the cache.
struct CachedResponse: Sendable {
    var body: [UInt8]
    var contentType: String
    /// Response metadata to replay (`header.etag`, `header.cache-control`, ...).
    var headers: [(key: String, value: String)]
    /// The plugin that served it: its reload drops it.
    var plugin: String
    var ttl: Int
}

/// Answers by key, bounded in entries and bytes: past either bound the
/// least recently used entries go. Expired entries go when looked up.
final class ResponseStore: Sendable {
    struct Entry {
        var response: CachedResponse
        var stored: Double
        var lastUsed: UInt64
    }

    struct Stats: Encodable, Sendable {
        var entries: Int
        var bytes: Int
        var hits: Int
        var misses: Int
        var evictions: Int
    }

    private struct State {
        var entries: [String: Entry] = [:]
        var bytes = 0
        var clock: UInt64 = 0
        var hits = 0, misses = 0, evictions = 0
    }

    private let state = Mutex(State())
    private let maxEntries: Int
    private let maxBytes: Int

    init(maxEntries: Int, maxBytes: Int) {
        self.maxEntries = maxEntries
        self.maxBytes = maxBytes
    }

    /// A fresh entry, with its age in seconds.
    func lookup(_ key: String) -> (body: [UInt8], contentType: String, headers: [(key: String, value: String)], age: Int)? {
        let now = MonotonicClock.seconds()
        return state.withLock { state in
            guard var entry = state.entries[key] else {
                state.misses += 1
                return nil
            }
            let age = now - entry.stored
            guard age < Double(entry.response.ttl) else {
                state.bytes -= Self.size(key, entry.response)
                state.entries[key] = nil
                state.misses += 1
                return nil
            }
            state.clock += 1
            entry.lastUsed = state.clock
            state.entries[key] = entry
            state.hits += 1
            return (entry.response.body, entry.response.contentType, entry.response.headers, Int(age))
        }
    }

    func insert(_ key: String, _ response: CachedResponse) {
        let size = Self.size(key, response)
        guard size <= maxBytes else { return }
        let now = MonotonicClock.seconds()
        state.withLock { state in
            if let old = state.entries[key] { state.bytes -= Self.size(key, old.response) }
            state.clock += 1
            state.entries[key] = Entry(response: response, stored: now, lastUsed: state.clock)
            state.bytes += size
            guard state.entries.count > maxEntries || state.bytes > maxBytes else { return }
            // Evict the least recently used eighth at once: one sort per many inserts.
            let victims = state.entries.sorted { $0.value.lastUsed < $1.value.lastUsed }
                .prefix(max(1, state.entries.count / 8, state.entries.count - maxEntries))
            for (victim, entry) in victims where state.entries.count > maxEntries || state.bytes > maxBytes || victim != key {
                state.bytes -= Self.size(victim, entry.response)
                state.entries[victim] = nil
                state.evictions += 1
                if state.entries.count <= maxEntries && state.bytes <= maxBytes { break }
            }
        }
    }

    /// Drops the entries of one plugin (nil: all).
    func removeAll(servedBy plugin: String?) {
        state.withLock { state in
            for (key, entry) in state.entries where plugin == nil || entry.response.plugin == plugin {
                state.bytes -= Self.size(key, entry.response)
                state.entries[key] = nil
            }
        }
    }

    var stats: Stats {
        state.withLock { Stats(entries: $0.entries.count, bytes: $0.bytes, hits: $0.hits, misses: $0.misses, evictions: $0.evictions) }
    }

    private static func size(_ key: String, _ response: CachedResponse) -> Int {
        key.utf8.count + response.body.count + response.headers.reduce(64) { $0 + $1.key.utf8.count + $1.value.utf8.count }
    }

}
