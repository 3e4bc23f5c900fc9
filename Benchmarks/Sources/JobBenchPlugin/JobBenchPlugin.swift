import Foundation
import KernelSDK
import Synchronization

/// Drives the scheduler for `Benchmarks/jobs-bench/run.sh`: enqueues no-op
/// jobs in batches and waits for them to be worked off, times single
/// enqueues, and records how late a per-second schedule starts its job.
struct JobBenchPlugin: Plugin {
    static let name = "jobbench"
    static let version = "1.0.0"
    static let description = "Scheduler benchmark: no-op jobs, enqueue latency, cron lateness"
    /// Loaded after the scheduler: its jobs are durable from the first enqueue.
    static let dependsOn = ["scheduler"]

    func register(with kernel: PluginContext) throws {
        let done = Counter()
        let lateness = Mutex<[Double]>([])
        kernel.job("bench.noop") { (_: Empty, _) in done.add() }
        kernel.job("bench.tick") { (_: Empty, request) in
            let started = Date() // the handler's start, before any work of its own
            guard let text = request.meta("job.fire_at"), let fireAt = ISO8601DateFormatter.fractional.date(from: text)
                    ?? ISO8601DateFormatter().date(from: text) else { return }
            let late = started.timeIntervalSince(fireAt) * 1000
            lateness.withLock { $0.append(late) }
        }
        if kernel.config("tick") == "on" { kernel.schedule("bench.tick", cron: "* * * * * *", job: "bench.tick") }

        /// Enqueues `count` no-op jobs in batches of `batch` on `queue`.
        kernel.endpoint("bench.enqueue") { (body: EnqueueBody, _) async throws -> [String: Double] in
            done.reset()
            let start = ContinuousClock.now
            var sent = 0
            while sent < body.count {
                let size = min(body.batch, body.count - sent)
                try await kernel.enqueue("bench.noop", batch: [Empty](repeating: Empty(), count: size),
                                         options: JobOptions(queue: body.queue))
                sent += size
            }
            let seconds = (ContinuousClock.now - start).seconds
            return ["enqueued": Double(body.count), "seconds": seconds, "per_second": Double(body.count) / seconds]
        }
        /// Waits until `count` no-op jobs have run since the last enqueue; the time since this call.
        kernel.endpoint("bench.wait") { (body: WaitBody, _) async throws -> [String: Double] in
            let start = ContinuousClock.now
            while done.value < body.count {
                try await Task.sleep(for: .milliseconds(1))
                if (ContinuousClock.now - start) > .seconds(600) { throw PluginError.unavailable("only \(done.value) ran") }
            }
            let seconds = (ContinuousClock.now - start).seconds
            return ["ran": Double(done.value), "seconds": seconds, "per_second": Double(body.count) / seconds]
        }
        /// `count` single enqueues one after another: p50 and p99 in milliseconds.
        kernel.endpoint("bench.latency") { (body: WaitBody, _) async throws -> [String: Double] in
            var samples: [Double] = []
            for _ in 0..<body.count {
                let start = ContinuousClock.now
                try await kernel.enqueue("bench.noop", Empty())
                samples.append((ContinuousClock.now - start).seconds * 1000)
            }
            return Percentiles.of(samples)
        }
        kernel.endpoint("bench.lateness") { (_: Empty, _) async throws -> [String: Double] in
            Percentiles.of(lateness.withLock { $0 })
        }
    }
}

struct EnqueueBody: Codable, Sendable { var count: Int; var batch: Int; var queue: String? }
struct WaitBody: Codable, Sendable { var count: Int }

final class Counter: Sendable {
    private let count = Atomic<Int>(0)
    func add() { count.add(1, ordering: .relaxed) }
    func reset() { count.store(0, ordering: .relaxed) }
    var value: Int { count.load(ordering: .relaxed) }
}

enum Percentiles {
    static func of(_ samples: [Double]) -> [String: Double] {
        let sorted = samples.sorted()
        guard !sorted.isEmpty else { return ["count": 0] }
        func at(_ q: Double) -> Double { sorted[min(sorted.count - 1, Int(Double(sorted.count) * q))] }
        return ["count": Double(sorted.count), "p50": at(0.5), "p99": at(0.99), "max": sorted.last!]
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}

extension ISO8601DateFormatter {
    nonisolated(unsafe) static let fractional: ISO8601DateFormatter = {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter
    }()
}

@_cdecl("kn_plugin_entry")
public func entry(_ host: UnsafeRawPointer?) -> UnsafeRawPointer? { export(JobBenchPlugin.self, host: host) }
