import Foundation
import StorageEngine

// The storage benchmark's in-process half: KV put, KV get and log append,
// directly on SQLite (raw C API, the schema and pragmas the plugin uses),
// through the storage engine without the kernel, and the same on
// PostgreSQL. The through-the-kernel figures come from the probe plugin's
// probe.bench endpoint; Benchmarks/storage-bench/run.sh runs both halves.
//
//   storage-bench [--operations N] [--value-bytes N] [--postgres URL]

let options = BenchOptions(CommandLine.arguments)
var report: [BenchFigures] = []

let directory = NSTemporaryDirectory() + "storage-bench-" + UUID().uuidString
try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
defer { try? FileManager.default.removeItem(atPath: directory) }

report.append(try RawSQLiteBench.run(path: directory + "/raw.sqlite", options: options))
for concurrency in [1, 32] {
    let backend = try await SQLiteBackend.open(directory: directory + "/engine-\(concurrency)")
    report.append(try await EngineBench.run(label: "sqlite engine, in process", backend: backend, concurrency: concurrency, options: options))
    await backend.shutdown()
}
if let url = options.postgresURL {
    report.append(try await RawPostgresBench.run(url: url, options: options))
    for concurrency in [1, 32] {
        let backend = try await PostgresBackend.open(PostgresSettings(url: url, maxConnections: 32))
        report.append(try await EngineBench.run(label: "postgres engine, in process", backend: backend, concurrency: concurrency, options: options))
        await backend.shutdown()
    }
}
for figures in report { print(figures.line) }
