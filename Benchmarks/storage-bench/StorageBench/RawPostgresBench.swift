import Foundation
import Logging
import NIOPosix
import PostgresNIO
import StorageEngine

/// PostgreSQL through PostgresNIO in this process, one operation at a
/// time, with the statements the storage engine runs.
enum RawPostgresBench {
    static func run(url: String, options: BenchOptions) async throws -> BenchFigures {
        guard let components = URLComponents(string: url) else { throw BenchError("bad URL \(url)") }
        var configuration = PostgresClient.Configuration(
            host: components.host ?? "127.0.0.1", port: components.port ?? 5432, username: components.user ?? "postgres",
            password: components.password, database: String(components.path.dropFirst()), tls: .disable)
        configuration.options.maximumConnections = 4
        let logger = Logger(label: "bench", factory: { _ in SwiftLogNoOpLogHandler() })
        let client = PostgresClient(configuration: configuration, eventLoopGroup: MultiThreadedEventLoopGroup.singleton,
                                    backgroundLogger: logger)
        let runner = Task { await client.run() }
        defer { runner.cancel() }
        try await client.query("""
            CREATE TABLE IF NOT EXISTS bench_kv (ns TEXT NOT NULL, key BYTEA NOT NULL, value BYTEA NOT NULL,
                version BIGINT NOT NULL, expires_at BIGINT NOT NULL DEFAULT 0, PRIMARY KEY (ns, key))
            """, logger: logger)
        try await client.query("CREATE SEQUENCE IF NOT EXISTS bench_version", logger: logger)
        try await client.query("""
            CREATE TABLE IF NOT EXISTS bench_streams (ns TEXT NOT NULL, stream TEXT NOT NULL, first_offset BIGINT NOT NULL,
                next_offset BIGINT NOT NULL, PRIMARY KEY (ns, stream))
            """, logger: logger)
        try await client.query("""
            CREATE TABLE IF NOT EXISTS bench_log (ns TEXT NOT NULL, stream TEXT NOT NULL, off BIGINT NOT NULL,
                appended_at BIGINT NOT NULL, payload BYTEA NOT NULL, PRIMARY KEY (ns, stream, off))
            """, logger: logger)
        let value = ByteBuffer(bytes: [UInt8](repeating: 0x76, count: options.valueBytes))
        let run = UUID().uuidString.prefix(8)
        let count = Double(options.operations)
        let put = count / (try await seconds {
            for index in 0..<options.operations {
                let key = ByteBuffer(string: "k-\(run)-\(index)")
                _ = try await client.query("""
                    INSERT INTO bench_kv (ns, key, value, version, expires_at) VALUES ('bench', \(key), \(value), nextval('bench_version'), 0)
                    ON CONFLICT (ns, key) DO UPDATE SET value = excluded.value, version = excluded.version RETURNING version
                    """, logger: logger).collect()
            }
        })
        let get = count / (try await seconds {
            for index in 0..<options.operations {
                let key = ByteBuffer(string: "k-\(run)-\(index)")
                let now = Int64(Date().timeIntervalSince1970 * 1_000)
                _ = try await client.query("""
                    SELECT value, version, expires_at FROM bench_kv WHERE ns = 'bench' AND key = \(key) AND (expires_at = 0 OR expires_at > \(now))
                    """, logger: logger).collect()
            }
        })
        let stream = "s-\(run)"
        let append = count / (try await seconds {
            for _ in 0..<options.operations {
                let now = Int64(Date().timeIntervalSince1970 * 1_000)
                _ = try await client.query("""
                    WITH advanced AS (
                        INSERT INTO bench_streams (ns, stream, first_offset, next_offset) VALUES ('bench', \(stream), 0, 1)
                        ON CONFLICT (ns, stream) DO UPDATE SET next_offset = bench_streams.next_offset + 1
                        RETURNING next_offset - 1 AS off)
                    INSERT INTO bench_log (ns, stream, off, appended_at, payload) SELECT 'bench', \(stream), off, \(now), \(value) FROM advanced RETURNING off
                    """, logger: logger).collect()
            }
        })
        return BenchFigures(label: "postgres direct (PostgresNIO)", concurrency: 1, put: put, get: get, append: append)
    }
}
