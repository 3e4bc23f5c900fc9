import Foundation
import Logging
import NIOCore
import NIOPosix
import PostgresNIO

/// The PostgreSQL backend. Its own event-loop group and connection pools
/// (one for keys and logs, one per plugin using SQL, whose search_path is
/// the plugin's schema). Pools reconnect by themselves: a server that went
/// away and came back is used again on the next call.
public final class PostgresBackend: StorageBackend {
    public let name = "postgres"
    let settings: PostgresSettings
    let group: MultiThreadedEventLoopGroup
    let client: PostgresClient
    let spaces: PostgresSpaces
    private let runner: Task<Void, Never>
    static let logger = Logger(label: "storage.postgres", factory: { _ in SwiftLogNoOpLogHandler() })
    var logger: Logger { Self.logger }

    /// Connects and creates the schema; fails (unavailable) when the server
    /// cannot be reached within the operation timeout.
    public static func open(_ settings: PostgresSettings) async throws -> PostgresBackend {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        let configuration: PostgresClient.Configuration
        do {
            // Only pg_catalog on the path: a function a plugin put in a shared
            // schema (public) can never stand in for one the storage calls.
            configuration = try settings.clientConfiguration(searchPath: "pg_catalog")
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
        let client = PostgresClient(configuration: configuration, eventLoopGroup: group, backgroundLogger: logger)
        let backend = PostgresBackend(settings: settings, group: group, client: client)
        do {
            try await backend.timed { connection in
                try await PostgresSchema.prepare(on: connection, logger: logger)
            }
        } catch {
            await backend.shutdown()
            throw error
        }
        return backend
    }

    private init(settings: PostgresSettings, group: MultiThreadedEventLoopGroup, client: PostgresClient) {
        self.settings = settings
        self.group = group
        self.client = client
        runner = Task { await client.run() }
        spaces = PostgresSpaces(settings: settings, group: group, main: client)
    }

    public func shutdown() async {
        await spaces.shutdown()
        runner.cancel()
        await runner.value
        try? await group.shutdownGracefully()
    }

    /// A pooled connection for `body`, within the operation timeout.
    func timed<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        let client = client
        return try await withDeadline(settings.operationTimeout) {
            try await client.withConnection { connection in try await body(connection) }
        }
    }

    func query(_ sql: String, _ values: [SQLValue]) async throws -> PostgresQueryResult {
        let logger = logger
        return try await timed { connection in
            try await connection.query(PostgresQuery(unsafeSQL: sql, binds: PostgresValues.bindings(values)), logger: logger).get()
        }
    }

    // MARK: Key-value

    public func kvGet(namespace: String, key: [UInt8]) async throws -> KVEntry? {
        let result = try await query("""
            SELECT value, version, expires_at FROM kn_storage.kv
            WHERE ns = $1 AND key = $2 AND (expires_at = 0 OR expires_at > $3)
            """, [.text(namespace), .blob(key), .integer(WallClock.nowMilliseconds())])
        guard let row = result.rows.first else { return nil }
        let (buffer, version, expiry) = try row.decode((ByteBuffer, Int64, Int64).self)
        let value = Array(buffer.readableBytesView)
        return KVEntry(key: key, value: value, version: UInt64(version), expiresAtMilliseconds: expiry)
    }

    public func kvPut(namespace: String, key: [UInt8], value: [UInt8], ttlMilliseconds: UInt64) async throws -> KVEntry {
        let expiry = WallClock.expiry(ttlMilliseconds: ttlMilliseconds)
        let result = try await query("""
            INSERT INTO kn_storage.kv (ns, key, value, version, expires_at)
            VALUES ($1, $2, $3, pg_catalog.nextval('kn_storage.kv_version'::regclass), $4)
            ON CONFLICT (ns, key) DO UPDATE SET value = excluded.value, version = excluded.version,
            expires_at = excluded.expires_at
            RETURNING version
            """, [.text(namespace), .blob(key), .blob(value), .integer(expiry)])
        guard let version = try result.rows.first?.decode(Int64.self) else { throw StorageError.internal("put returned no version") }
        return KVEntry(key: key, value: value, version: UInt64(version), expiresAtMilliseconds: expiry)
    }

    public func kvCompareAndSet(namespace: String, key: [UInt8], expectedVersion: UInt64, value: [UInt8],
                                ttlMilliseconds: UInt64) async throws -> KVEntry {
        let expiry = WallClock.expiry(ttlMilliseconds: ttlMilliseconds)
        let now = WallClock.nowMilliseconds()
        // Row locks decide between concurrent callers: the losers re-check the
        // condition against the winner's row and match nothing.
        let result: PostgresQueryResult
        if expectedVersion == 0 {
            result = try await query("""
                INSERT INTO kn_storage.kv (ns, key, value, version, expires_at)
                VALUES ($1, $2, $3, pg_catalog.nextval('kn_storage.kv_version'::regclass), $4)
                ON CONFLICT (ns, key) DO UPDATE SET value = excluded.value, version = excluded.version,
                expires_at = excluded.expires_at
                WHERE kn_storage.kv.expires_at <> 0 AND kn_storage.kv.expires_at <= $5
                RETURNING version
                """, [.text(namespace), .blob(key), .blob(value), .integer(expiry), .integer(now)])
        } else {
            result = try await query("""
                UPDATE kn_storage.kv SET value = $3, version = pg_catalog.nextval('kn_storage.kv_version'::regclass), expires_at = $4
                WHERE ns = $1 AND key = $2 AND version = $5 AND (expires_at = 0 OR expires_at > $6)
                RETURNING version
                """, [.text(namespace), .blob(key), .blob(value), .integer(expiry),
                      .integer(Int64(clamping: expectedVersion)), .integer(now)])
        }
        guard let version = try result.rows.first?.decode(Int64.self) else {
            throw StorageError.conflict(expectedVersion == 0
                ? "version 0 is stale: the key exists"
                : "version \(expectedVersion) is stale: the key changed or is absent")
        }
        return KVEntry(key: key, value: value, version: UInt64(version), expiresAtMilliseconds: expiry)
    }

    public func kvDelete(namespace: String, key: [UInt8]) async throws -> KVEntry? {
        let result = try await query(
            "DELETE FROM kn_storage.kv WHERE ns = $1 AND key = $2 RETURNING value, version, expires_at",
            [.text(namespace), .blob(key)])
        guard let row = result.rows.first else { return nil }
        let (buffer, version, expiry) = try row.decode((ByteBuffer, Int64, Int64).self)
        let value = Array(buffer.readableBytesView)
        if expiry != 0 && expiry <= WallClock.nowMilliseconds() { return nil }
        return KVEntry(key: key, value: value, version: UInt64(version), expiresAtMilliseconds: expiry)
    }

    public func kvScan(namespace: String, prefix: [UInt8], after cursor: [UInt8], limit: Int) async throws -> KVPage {
        let upper = KeyRange.upperBound(ofPrefix: prefix)
        let result = try await query("""
            SELECT key, value, version, expires_at FROM kn_storage.kv
            WHERE ns = $1 AND key >= $2 AND (expires_at = 0 OR expires_at > $3) AND key > $4
            AND ($5::bytea IS NULL OR key < $5::bytea)
            ORDER BY key LIMIT $6
            """, [.text(namespace), .blob(prefix), .integer(WallClock.nowMilliseconds()), .blob(cursor),
                  upper.map { .blob($0) } ?? .null, .integer(Int64(limit + 1))])
        let entries = try result.rows.map { row in
            let (keyBuffer, valueBuffer, version, expiry) = try row.decode((ByteBuffer, ByteBuffer, Int64, Int64).self)
            let (key, value) = (Array(keyBuffer.readableBytesView), Array(valueBuffer.readableBytesView))
            return KVEntry(key: key, value: value, version: UInt64(version), expiresAtMilliseconds: expiry)
        }
        return KeyRange.page(entries, limit: limit)
    }

    public func kvSweepExpired() async throws -> Int {
        let result = try await query("DELETE FROM kn_storage.kv WHERE expires_at > 0 AND expires_at <= $1",
                                     [.integer(WallClock.nowMilliseconds())])
        return result.metadata.rows ?? 0
    }

    // MARK: Logs

    public func logAppend(namespace: String, stream: String, payload: [UInt8]) async throws -> UInt64 {
        // One statement: the stream row's lock orders appends, so offsets are
        // dense and committed in order.
        let result = try await query("""
            WITH advanced AS (
                INSERT INTO kn_storage.log_streams (ns, stream, first_offset, next_offset) VALUES ($1, $2, 0, 1)
                ON CONFLICT (ns, stream) DO UPDATE SET next_offset = kn_storage.log_streams.next_offset + 1
                RETURNING next_offset - 1 AS off)
            INSERT INTO kn_storage.log (ns, stream, off, appended_at, payload)
            SELECT $1, $2, off, $3, $4 FROM advanced RETURNING off
            """, [.text(namespace), .text(stream), .integer(WallClock.nowMilliseconds()), .blob(payload)])
        guard let offset = try result.rows.first?.decode(Int64.self) else { throw StorageError.internal("append returned no offset") }
        return UInt64(offset)
    }

    public func logRead(namespace: String, stream: String, from: UInt64, limit: Int) async throws -> LogBatch {
        let logger = logger
        return try await timed { connection in
            // One snapshot for records and retention.
            _ = try await connection.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", logger: logger).get()
            do {
                let records = try await connection.query(PostgresQuery(unsafeSQL: """
                    SELECT off, appended_at, payload FROM kn_storage.log
                    WHERE ns = $1 AND stream = $2 AND off >= $3 ORDER BY off LIMIT $4
                    """, binds: PostgresValues.bindings([.text(namespace), .text(stream), .integer(Int64(clamping: from)),
                                                         .integer(Int64(limit))])), logger: logger).get()
                let bounds = try await connection.query(PostgresQuery(unsafeSQL: """
                    SELECT first_offset, next_offset FROM kn_storage.log_streams WHERE ns = $1 AND stream = $2
                    """, binds: PostgresValues.bindings([.text(namespace), .text(stream)])), logger: logger).get()
                _ = try await connection.query("COMMIT", logger: logger).get()
                let list = try records.rows.map { row in
                    let (offset, at, buffer) = try row.decode((Int64, Int64, ByteBuffer).self)
                    let payload = Array(buffer.readableBytesView)
                    return LogRecord(offset: UInt64(offset), appendedAtMilliseconds: at, payload: payload)
                }
                var (first, next): (Int64, Int64) = (0, 0)
                if let row = bounds.rows.first { (first, next) = try row.decode((Int64, Int64).self) }
                return LogBatch(records: list, firstOffset: UInt64(first), nextOffset: UInt64(next), gap: from < UInt64(first))
            } catch {
                _ = try? await connection.query("ROLLBACK", logger: logger).get()
                throw error
            }
        }
    }

    public func logTrim(namespace: String, stream: String, keepLast: UInt64, beforeMilliseconds: Int64) async throws -> TrimOutcome {
        let logger = logger
        return try await timed { connection in
            func run(_ sql: String, _ values: [SQLValue]) async throws -> PostgresQueryResult {
                try await connection.query(PostgresQuery(unsafeSQL: sql, binds: PostgresValues.bindings(values)), logger: logger).get()
            }
            _ = try await run("BEGIN", [])
            do {
                let bounds = try await run(
                    "SELECT first_offset, next_offset FROM kn_storage.log_streams WHERE ns = $1 AND stream = $2 FOR UPDATE",
                    [.text(namespace), .text(stream)])
                guard let (first64, next64) = try bounds.rows.first?.decode((Int64, Int64).self) else {
                    _ = try await run("COMMIT", [])
                    return TrimOutcome(firstOffset: 0, removed: 0)
                }
                let (first, next) = (UInt64(first64), UInt64(next64))
                var newFirst = LogRetention.firstKept(first: first, next: next, keepLast: keepLast)
                if beforeMilliseconds > 0 {
                    let oldest = try await run("""
                        SELECT min(off) FROM kn_storage.log WHERE ns = $1 AND stream = $2 AND off >= $3 AND appended_at >= $4
                        """, [.text(namespace), .text(stream), .integer(Int64(newFirst)), .integer(beforeMilliseconds)])
                    let found = try oldest.rows.first?.decode(Int64?.self)
                    newFirst = max(newFirst, found.map { UInt64($0) } ?? next)
                }
                guard newFirst > first else {
                    _ = try await run("COMMIT", [])
                    return TrimOutcome(firstOffset: first, removed: 0)
                }
                let deleted = try await run("DELETE FROM kn_storage.log WHERE ns = $1 AND stream = $2 AND off < $3",
                                            [.text(namespace), .text(stream), .integer(Int64(newFirst))])
                _ = try await run("UPDATE kn_storage.log_streams SET first_offset = $3 WHERE ns = $1 AND stream = $2",
                                  [.text(namespace), .text(stream), .integer(Int64(newFirst))])
                _ = try await run("COMMIT", [])
                return TrimOutcome(firstOffset: newFirst, removed: UInt64(deleted.metadata.rows ?? 0))
            } catch {
                _ = try? await run("ROLLBACK", [])
                throw error
            }
        }
    }

    // MARK: SQL

    public func sqlRun(space: String, sql: String, parameters: [SQLValue]) async throws -> SQLResult {
        let client = try await spaces.client(for: space)
        let logger = logger
        return try await withDeadline(settings.operationTimeout) {
            try await client.withConnection { connection in
                let result = try await connection.query(
                    PostgresQuery(unsafeSQL: sql, binds: PostgresValues.bindings(parameters)), logger: logger).get()
                return try PostgresValues.result(result)
            }
        }
    }

    public func sqlBegin(space: String) async throws -> any SQLTransaction {
        try await PostgresTransaction.begin(client: spaces.client(for: space), timeout: settings.operationTimeout)
    }

    public func sqlMigrate(space: String, migrations: [Migration]) async throws -> [Int64] {
        let ordered = try MigrationPlan.ordered(migrations)
        let client = try await spaces.client(for: space)
        let logger = logger
        return try await withDeadline(settings.operationTimeout * max(1, ordered.count)) {
            try await client.withConnection { connection in
                try await PostgresMigrator.apply(ordered, on: connection, logger: logger)
            }
        }
    }

    // MARK: Operator view

    public func status() async throws -> StorageStatus {
        let now = WallClock.nowMilliseconds()
        let counts = try await query("""
            SELECT ns, count(*) FROM kn_storage.kv WHERE expires_at = 0 OR expires_at > $1 GROUP BY ns ORDER BY ns
            """, [.integer(now)])
        let streams = try await query(
            "SELECT ns, stream, first_offset, next_offset FROM kn_storage.log_streams ORDER BY ns, stream", [])
        let size = try await query("SELECT pg_database_size(current_database())", [])
        let schemas = try await query(
            "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'plugin\\_%' ORDER BY nspname", [])
        return StorageStatus(
            backend: name, location: settings.redactedURL,
            sizeBytes: try size.rows.first?.decode(Int64.self) ?? 0,
            namespaces: try counts.rows.map { row in
                let (ns, keys) = try row.decode((String, Int64).self)
                return .init(name: ns, keys: keys)
            },
            streams: try streams.rows.map { row in
                let (ns, stream, first, next) = try row.decode((String, String, Int64, Int64).self)
                return .init(namespace: ns, name: stream, firstOffset: UInt64(first), nextOffset: UInt64(next))
            },
            sqlSpaces: try schemas.rows.map { String(try $0.decode(String.self).dropFirst("plugin_".count)) })
    }
}
