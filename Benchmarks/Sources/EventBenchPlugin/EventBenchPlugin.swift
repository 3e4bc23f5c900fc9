import Foundation
import KernelSDK
import Synchronization

/// Drives events for `Benchmarks/events-bench/run.sh`: local publishes to
/// an in-process handler, persisted publishes (acknowledged once stored),
/// and a publisher for the remote fan-out. Works with or without the pubsub
/// plugin (the local figure is taken without it).
struct EventBenchPlugin: Plugin {
    static let name = "eventbench"
    static let version = "1.0.0"
    static let description = "Events benchmark: local publish, persisted publish, fan-out publisher"

    func register(with kernel: PluginContext) throws {
        let received = Atomic<Int>(0)
        kernel.on("bench.local.#") { _ in received.add(1, ordering: .relaxed) }

        /// Publishes `count` events to the in-process handler; the time until it has seen them all.
        kernel.endpoint("eventbench.local") { (body: Run, _) async throws -> [String: Double] in
            received.store(0, ordering: .relaxed)
            let payload = Array(repeating: UInt8(ascii: "x"), count: body.size ?? 100)
            let json = [UInt8(ascii: "\"")] + payload + [UInt8(ascii: "\"")]
            let start = ContinuousClock.now
            for _ in 0..<body.count { try kernel.publish("bench.local.tick", json: json) }
            while received.load(ordering: .relaxed) < body.count {
                try await Task.sleep(for: .microseconds(200))
                if ContinuousClock.now - start > .seconds(300) { throw PluginError.unavailable("handler saw \(received.load(ordering: .relaxed))") }
            }
            return Self.rate(body.count, since: start)
        }

        /// Publishes `count` events on `topic` in batches of `batch`, `concurrency` batches waiting for their store at once.
        kernel.endpoint("eventbench.persist") { (body: Run, _) async throws -> [String: Double] in
            let payload = Array(#"{"data":"\#(String(repeating: "x", count: max(0, (body.size ?? 100) - 11)))"}"#.utf8)
            let topic = body.topic ?? "bench.persist.tick"
            let batch = max(1, body.batch ?? 1_000)
            let window = max(1, body.concurrency ?? 4)
            let batches = (body.count + batch - 1) / batch
            let start = ContinuousClock.now
            try await withThrowingTaskGroup(of: [UInt64].self) { group in
                var started = 0
                func add() {
                    let size = min(batch, body.count - started * batch)
                    group.addTask {
                        try await kernel.publish(topic, jsonBatch: Array(repeating: payload, count: size), context: EventContext())
                    }
                    started += 1
                }
                while started < min(window, batches) { add() }
                while let offsets = try await group.next() {
                    guard offsets.allSatisfy({ $0 > 0 }) else { throw PluginError.unavailable("not stored: is pubsub loaded and \(topic) kept?") }
                    if started < batches { add() }
                }
            }
            return Self.rate(body.count, since: start)
        }

        /// The fan-out publisher: `count` events of `size` bytes on `topic`, as fast as publish takes them.
        kernel.endpoint("eventbench.publish") { (body: Run, _) async throws -> [String: Double] in
            let payload = Array(#"{"data":"\#(String(repeating: "x", count: max(0, (body.size ?? 100) - 11)))"}"#.utf8)
            let topic = body.topic ?? "bench.fanout.tick"
            let start = ContinuousClock.now
            for _ in 0..<body.count { try kernel.publish(topic, json: payload) }
            return Self.rate(body.count, since: start)
        }
    }

    static func rate(_ count: Int, since start: ContinuousClock.Instant) -> [String: Double] {
        let elapsed = ContinuousClock.now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        return ["count": Double(count), "seconds": seconds, "per_second": Double(count) / seconds]
    }
}

struct Run: Decodable, Sendable {
    var count: Int
    var size: Int?
    var topic: String?
    var concurrency: Int?
    var batch: Int?
}

@_cdecl("kn_plugin_entry")
public func entry(_ host: UnsafeRawPointer?) -> UnsafeRawPointer? { export(EventBenchPlugin.self, host: host) }
