import MiddlewareKit
import Synchronization

/// Token buckets by key, in bounded memory: 16 shards, each keeping two
/// generations of keys. A shard whose current generation is full drops its
/// previous one and starts a new one, so a flood of distinct keys costs at
/// most `capacity` entries; a key not seen for two generations starts again
/// with a full bucket (an idle caller loses nothing by that).
final class TokenBuckets: Sendable {
    struct Decision {
        var allowed: Bool
        /// Whole tokens left after this call.
        var remaining: Int
        /// Seconds until one token is back (when refused) or the bucket is full.
        var retryAfter: Double
        var resetAfter: Double
    }

    private struct Bucket {
        var tokens: Double
        var updated: Double
    }

    private struct Generations {
        var current: [String: Bucket] = [:]
        var previous: [String: Bucket] = [:]
    }

    /// A class holds each Mutex: an array needs copyable elements.
    private final class Shard: Sendable {
        let state = Mutex(Generations())
    }

    private let shards: [Shard]
    private let perGeneration: Int

    init(capacity: Int) {
        shards = (0..<16).map { _ in Shard() }
        perGeneration = max(1, capacity / 32)
    }

    /// Takes one token from `key`'s bucket of `burst` tokens refilled at `rate` per second.
    func take(_ key: String, burst: Int, rate: Double) -> Decision {
        let now = MonotonicClock.seconds()
        func spend(_ bucket: inout Bucket) -> Decision {
            bucket.tokens = min(Double(burst), bucket.tokens + (now - bucket.updated) * rate)
            bucket.updated = now
            let allowed = bucket.tokens >= 1
            if allowed { bucket.tokens -= 1 }
            return Decision(allowed: allowed, remaining: Int(bucket.tokens),
                            retryAfter: allowed ? 0 : (1 - bucket.tokens) / rate,
                            resetAfter: (Double(burst) - bucket.tokens) / rate)
        }
        return shards[Int(UInt(bitPattern: key.hashValue) % 16)].state.withLock { shard in
            // A key seen lately: one lookup, updated in place.
            if let index = shard.current.index(forKey: key) { return spend(&shard.current.values[index]) }
            var bucket = shard.previous.removeValue(forKey: key) ?? Bucket(tokens: Double(burst), updated: now)
            let decision = spend(&bucket)
            if shard.current.count >= perGeneration {
                shard.previous = shard.current
                shard.current = [:]
                shard.current.reserveCapacity(perGeneration)
            }
            shard.current[key] = bucket
            return decision
        }
    }

    /// Keys held now (both generations): at most `capacity`.
    var count: Int { shards.reduce(0) { total, shard in total + shard.state.withLock { $0.current.count + $0.previous.count } } }

}
