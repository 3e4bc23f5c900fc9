import Foundation
import KernelSDK

/// Through-the-service throughput, measured inside the plugin (no HTTP in
/// the loop): the benchmark calls it once per figure.
enum ProbeBench {
    struct BenchBody: Codable, Sendable {
        var operations: Int
        var value_bytes: Int?
        var concurrency: Int?
    }

    struct Figures: Codable, Sendable {
        var backend: String
        var operations: Int
        var concurrency: Int
        var put_per_second: Double
        var get_per_second: Double
        var append_per_second: Double
    }

    static func register(_ kernel: PluginContext, _ storage: Storage) {
        kernel.endpoint("probe.bench") { (body: BenchBody, _) async throws in
            let value = [UInt8](repeating: 0x76, count: body.value_bytes ?? 100)
            let concurrency = max(1, body.concurrency ?? 1)
            let perTask = max(1, body.operations / concurrency)
            let run = UUID().uuidString.prefix(8)
            let kv = storage.kv
            let put = try await measure(concurrency, perTask) { task, index in
                try await kv.put("bench-\(run)-\(task)-\(index)", value)
            }
            let get = try await measure(concurrency, perTask) { task, index in
                _ = try await kv.get("bench-\(run)-\(task)-\(index)")
            }
            let stream = storage.log("bench-\(run)")
            let append = try await measure(concurrency, perTask) { _, _ in
                try await stream.append(value)
            }
            return Figures(backend: storage.backend, operations: perTask * concurrency, concurrency: concurrency,
                           put_per_second: put, get_per_second: get, append_per_second: append)
        }
    }

    /// Operations per second of `concurrency` tasks running `perTask` operations each.
    static func measure(_ concurrency: Int, _ perTask: Int,
                        _ operation: @escaping @Sendable (Int, Int) async throws -> Void) async throws -> Double {
        let clock = ContinuousClock()
        let elapsed = try await clock.measure {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for task in 0..<concurrency {
                    group.addTask {
                        for index in 0..<perTask { try await operation(task, index) }
                    }
                }
                try await group.waitForAll()
            }
        }
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        return Double(concurrency * perTask) / seconds
    }
}
