import Synchronization

/// Calls, errors and a latency histogram per endpoint: what `observe.stats`
/// serves (and a metrics exporter would read). Buckets double from 1 µs,
/// so a percentile is exact within a factor of two at worst and memory is
/// fixed per endpoint.
final class LatencyTable: Sendable {
    struct Summary: Encodable, Sendable {
        var calls: Int
        var errors: Int
        var p50_ms: Double
        var p90_ms: Double
        var p99_ms: Double
        var max_ms: Double
    }

    private struct Entry {
        var calls = 0
        var errors = 0
        var maxMicros: Int64 = 0
        var buckets = [Int](repeating: 0, count: 40)
    }

    private let table = Mutex<[String: Entry]>([:])
    /// Endpoints are registered names, but a flood of unknown names (each a
    /// not_found) must not grow the table without bound.
    private static let maxEndpoints = 10_000

    func record(_ endpoint: String, _ elapsed: Duration, failed: Bool) {
        let micros = max(1, elapsed.components.seconds * 1_000_000 + elapsed.components.attoseconds / 1_000_000_000_000)
        let bucket = min(39, 63 - micros.leadingZeroBitCount)
        func count(_ entry: inout Entry) {
            entry.calls += 1
            if failed { entry.errors += 1 }
            entry.buckets[bucket] += 1
            entry.maxMicros = max(entry.maxMicros, micros)
        }
        table.withLock { table in
            if table.count >= Self.maxEndpoints && table[endpoint] == nil { return }
            count(&table[endpoint, default: Entry()]) // one lookup, in place
        }
    }

    func summaries() -> [String: Summary] {
        table.withLock { table in
            table.mapValues { entry in
                func percentile(_ p: Double) -> Double {
                    let rank = Int((Double(entry.calls) * p).rounded(.up))
                    var seen = 0
                    for (index, count) in entry.buckets.enumerated() {
                        seen += count
                        // The bucket's upper bound, 2^(index+1) µs, capped by the largest seen.
                        if seen >= max(rank, 1) { return Double(min(Int64(1) << Int64(index + 1), entry.maxMicros)) / 1000 }
                    }
                    return Double(entry.maxMicros) / 1000
                }
                return Summary(calls: entry.calls, errors: entry.errors, p50_ms: percentile(0.5), p90_ms: percentile(0.9),
                               p99_ms: percentile(0.99), max_ms: Double(entry.maxMicros) / 1000)
            }
        }
    }
}
