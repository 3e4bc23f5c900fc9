import CKernelABI
import Foundation

/// The plugin's own SQL database, in the backend's dialect (`Storage.backend`).
/// Parameters are `$1`, `$2`, ... on both backends.
///
/// ```swift
/// let rows = try await storage.sql.query("SELECT id, email FROM users WHERE status = $1", [.text("active")])
/// for row in rows.rows { print(row["id"].string ?? "", row["email"].string ?? "") }
/// ```
public struct SQLDatabase: Sendable {
    let storage: Storage

    /// Runs one statement outside any transaction and returns its rows.
    public func query(_ sql: String, _ parameters: [SQLValue] = []) async throws(PluginError) -> SQLRows {
        try await SQLCall.run(storage, transaction: 0, sql, parameters)
    }

    /// Runs one statement and returns the number of rows it changed.
    @discardableResult
    public func execute(_ sql: String, _ parameters: [SQLValue] = []) async throws(PluginError) -> UInt64 {
        try await query(sql, parameters).rowsAffected
    }

    /// Runs `body` in a transaction: committed when it returns, rolled back
    /// when it throws (then the error is rethrown). A plugin that dies
    /// mid-way leaves nothing behind: the service rolls back idle transactions.
    ///
    /// ```swift
    /// try await storage.sql.transaction { tx in
    ///     try await tx.execute("UPDATE accounts SET balance = balance - $1 WHERE id = $2", [.integer(amount), .text(from)])
    ///     try await tx.execute("UPDATE accounts SET balance = balance + $1 WHERE id = $2", [.integer(amount), .text(to)])
    /// }
    /// ```
    /// Failures of the storage service are `PluginError`s; an error the body
    /// throws is rethrown as it is.
    public func transaction<T: Sendable>(_ body: (SQLTransaction) async throws -> T) async throws -> T {
        let transaction = SQLTransaction(storage: storage, handle: try await SQLCall.begin(storage))
        let result: T
        do {
            result = try await body(transaction)
        } catch {
            try? await SQLCall.finish(storage, transaction.handle, commit: false)
            throw error
        }
        try await SQLCall.finish(storage, transaction.handle, commit: true)
        return result
    }

    /// Applies the migrations not applied yet, in version order, each once.
    ///
    /// ```swift
    /// try await storage.sql.migrate([
    ///     Migration(1, "CREATE TABLE users (id TEXT PRIMARY KEY, email TEXT NOT NULL)"),
    ///     Migration(2, "CREATE INDEX users_email ON users (email)"),
    /// ])
    /// ```
    public func migrate(_ migrations: [Migration]) async throws(PluginError) {
        let storage = storage
        guard let function = storage.table.pointee.sql_migrate else { throw StorageErrors.missing("sql_migrate") }
        let texts = migrations.map { strdup($0.sql) }
        defer { texts.forEach { free($0) } }
        let list = zip(migrations, texts).map { migration, text in
            kn_storage_migration(struct_size: UInt32(MemoryLayout<kn_storage_migration>.size), version: migration.version,
                                 sql: UnsafePointer(text))
        }
        let _: Bool = try await OneShot<Bool>.wait { waiter throws(PluginError) in
            list.withUnsafeBufferPointer { buffer in
                function(storage.handle, buffer.baseAddress, buffer.count, { userData, status, message in
                    OneShot<Bool>.take(userData).finish(status, message, true)
                }, waiter.retained)
            }
        }
    }
}

/// One schema change, applied once, in version order, by `SQLDatabase.migrate`.
///
/// ```swift
/// Migration(1, "CREATE TABLE users (id TEXT PRIMARY KEY)")
/// ```
public struct Migration: Sendable, Equatable {
    /// Applied in increasing order; a version applied before is skipped.
    public var version: Int64
    /// The statement(s), in the backend's dialect.
    public var sql: String

    public init(_ version: Int64, _ sql: String) {
        self.version = version
        self.sql = sql
    }
}

/// Statements inside `SQLDatabase.transaction`. Do not use it after the
/// closure returns: the transaction is closed (`invalidArgument`).
///
/// ```swift
/// try await storage.sql.transaction { tx in
///     try await tx.execute("INSERT INTO users (id, email) VALUES ($1, $2)", [.text(id), .text(email)])
/// }
/// ```
public struct SQLTransaction: Sendable {
    let storage: Storage
    let handle: UInt64

    public func query(_ sql: String, _ parameters: [SQLValue] = []) async throws(PluginError) -> SQLRows {
        try await SQLCall.run(storage, transaction: handle, sql, parameters)
    }

    @discardableResult
    public func execute(_ sql: String, _ parameters: [SQLValue] = []) async throws(PluginError) -> UInt64 {
        try await query(sql, parameters).rowsAffected
    }
}

/// The C calls behind SQLDatabase and SQLTransaction.
enum SQLCall {
    static func run(_ storage: Storage, transaction: UInt64, _ sql: String, _ parameters: [SQLValue]) async throws(PluginError) -> SQLRows {
        guard let function = storage.table.pointee.sql_run else { throw StorageErrors.missing("sql_run") }
        // Parameter bytes stay alive until the call returns (the service copies them).
        let buffers = parameters.map(\.storageBytes)
        return try await OneShot<SQLRows>.wait { waiter throws(PluginError) in
            withStorageValues(parameters, buffers) { values in
                function(storage.handle, transaction, sql, values.baseAddress, values.count, { userData, status, message, rows in
                    OneShot<SQLRows>.take(userData).finish(status, message, SQLRows(rows!.pointee))
                }, waiter.retained)
            }
        }
    }

    static func begin(_ storage: Storage) async throws(PluginError) -> UInt64 {
        guard let function = storage.table.pointee.sql_begin else { throw StorageErrors.missing("sql_begin") }
        return try await OneShot<UInt64>.wait { waiter throws(PluginError) in
            function(storage.handle, { userData, status, message, handle in
                OneShot<UInt64>.take(userData).finish(status, message, handle)
            }, waiter.retained)
        }
    }

    static func finish(_ storage: Storage, _ handle: UInt64, commit: Bool) async throws(PluginError) {
        guard let function = commit ? storage.table.pointee.sql_commit : storage.table.pointee.sql_rollback else {
            throw StorageErrors.missing("sql_commit")
        }
        let _: Bool = try await OneShot<Bool>.wait { waiter throws(PluginError) in
            function(storage.handle, handle, { userData, status, message in
                OneShot<Bool>.take(userData).finish(status, message, true)
            }, waiter.retained)
        }
    }

    /// C values pointing into `buffers` (the text and blob bytes, one per
    /// parameter), valid inside `body`. The bytes are copied into one
    /// buffer and pinned once: linear in the number of parameters, which a
    /// multi-row insert counts in thousands.
    private static func withStorageValues<R>(_ parameters: [SQLValue], _ buffers: [[UInt8]],
                                             _ body: (UnsafeBufferPointer<kn_storage_value>) -> R) -> R {
        var offsets: [Int] = []
        offsets.reserveCapacity(buffers.count)
        var joined: [UInt8] = []
        joined.reserveCapacity(buffers.reduce(0) { $0 + $1.count })
        for buffer in buffers {
            offsets.append(joined.count)
            joined += buffer
        }
        return joined.withUnsafeBufferPointer { all in
            var values: [kn_storage_value] = []
            values.reserveCapacity(parameters.count)
            for (index, parameter) in parameters.enumerated() {
                let count = index < buffers.count ? buffers[index].count : 0
                let start = index < offsets.count ? offsets[index] : 0
                values.append(parameter.cValue(kn_bytes(ptr: all.baseAddress.map { $0 + start }, len: count)))
            }
            return values.withUnsafeBufferPointer(body)
        }
    }
}
