/// What a backend (SQLite, PostgreSQL) implements. Namespaces arrive
/// resolved and validated (`Limits`); keys and values within limits.
/// Every method may be called concurrently from any task.
public protocol StorageBackend: Sendable {
    /// "sqlite" or "postgres".
    var name: String { get }

    func kvGet(namespace: String, key: [UInt8]) async throws -> KVEntry?
    func kvPut(namespace: String, key: [UInt8], value: [UInt8], ttlMilliseconds: UInt64) async throws -> KVEntry
    func kvCompareAndSet(namespace: String, key: [UInt8], expectedVersion: UInt64, value: [UInt8],
                         ttlMilliseconds: UInt64) async throws -> KVEntry
    func kvDelete(namespace: String, key: [UInt8]) async throws -> KVEntry?
    func kvScan(namespace: String, prefix: [UInt8], after cursor: [UInt8], limit: Int) async throws -> KVPage
    /// Deletes expired keys; returns how many.
    func kvSweepExpired() async throws -> Int

    func logAppend(namespace: String, stream: String, payload: [UInt8]) async throws -> UInt64
    func logRead(namespace: String, stream: String, from: UInt64, limit: Int) async throws -> LogBatch
    func logTrim(namespace: String, stream: String, keepLast: UInt64, beforeMilliseconds: Int64) async throws -> TrimOutcome

    /// `space`: the plugin whose SQL tables are meant.
    func sqlRun(space: String, sql: String, parameters: [SQLValue]) async throws -> SQLResult
    func sqlBegin(space: String) async throws -> any SQLTransaction
    /// Returns the versions applied by this call.
    func sqlMigrate(space: String, migrations: [Migration]) async throws -> [Int64]

    func status() async throws -> StorageStatus
    /// Closes connections and joins threads. No call may follow.
    func shutdown() async
}

/// An open transaction on a connection of its own. Calls are serialised.
public protocol SQLTransaction: Sendable {
    func run(sql: String, parameters: [SQLValue]) async throws -> SQLResult
    func commit() async throws
    /// Never fails: a transaction that cannot be rolled back is closed with its connection.
    func rollback() async
}

/// The clock of expiries and log timestamps.
public enum WallClock {
    public static func nowMilliseconds() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec) * 1_000 + Int64(now.tv_nsec) / 1_000_000
    }

    /// The absolute expiry of a TTL from now; 0 for none.
    static func expiry(ttlMilliseconds: UInt64) -> Int64 {
        ttlMilliseconds == 0 ? 0 : nowMilliseconds() &+ Int64(clamping: ttlMilliseconds)
    }
}

#if canImport(Glibc)
import Glibc
#endif
