import Foundation
import StorageEngine

struct BenchOptions {
    var operations = 5_000
    var valueBytes = 100
    var postgresURL: String?

    init(_ arguments: [String]) {
        var iterator = arguments.dropFirst().makeIterator()
        while let argument = iterator.next() {
            switch argument {
            case "--operations": operations = iterator.next().flatMap(Int.init) ?? operations
            case "--value-bytes": valueBytes = iterator.next().flatMap(Int.init) ?? valueBytes
            case "--postgres": postgresURL = iterator.next()
            default: FileHandle.standardError.write(Data("storage-bench: unknown argument \(argument)\n".utf8))
            }
        }
    }
}

/// One row of the report: operations per second.
struct BenchFigures {
    var label: String
    var concurrency: Int
    var put: Double
    var get: Double
    var append: Double

    var line: String {
        func rate(_ value: Double) -> String { String(format: "%9.0f", value) }
        return "\(label.padding(toLength: 34, withPad: " ", startingAt: 0)) c=\(String(concurrency).padding(toLength: 3, withPad: " ", startingAt: 0)) put/s \(rate(put))  get/s \(rate(get))  append/s \(rate(append))"
    }
}

/// Seconds taken by `body`.
func seconds(_ body: () async throws -> Void) async rethrows -> Double {
    let start = ContinuousClock.now
    try await body()
    let elapsed = ContinuousClock.now - start
    return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
}

/// The storage engine without the kernel: the StorageService the plugin
/// wraps, `concurrency` tasks at a time.
enum EngineBench {
    static func run(label: String, backend: any StorageBackend, concurrency: Int, options: BenchOptions) async throws -> BenchFigures {
        let service = StorageService(backend: backend)
        let value = [UInt8](repeating: 0x76, count: options.valueBytes)
        let perTask = max(1, options.operations / concurrency)
        let total = Double(perTask * concurrency)
        func parallel(_ operation: @escaping @Sendable (Int, Int) async throws -> Void) async throws -> Double {
            total / (try await seconds {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for task in 0..<concurrency {
                        group.addTask { for index in 0..<perTask { try await operation(task, index) } }
                    }
                    try await group.waitForAll()
                }
            })
        }
        let run = UUID().uuidString.prefix(8)
        let put = try await parallel { task, index in
            _ = try await service.kvPut(caller: "bench", namespace: nil, key: Array("k-\(run)-\(task)-\(index)".utf8), value: value, ttlMilliseconds: 0)
        }
        let get = try await parallel { task, index in
            _ = try await service.kvGet(caller: "bench", namespace: nil, key: Array("k-\(run)-\(task)-\(index)".utf8))
        }
        let append = try await parallel { _, _ in
            _ = try await service.logAppend(caller: "bench", namespace: nil, stream: "s-\(run)", payload: value)
        }
        return BenchFigures(label: label, concurrency: concurrency, put: put, get: get, append: append)
    }
}
