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

    /// C values pointing into `buffers` (the text and blob bytes), valid inside `body`.
    private static func withStorageValues<R>(_ parameters: [SQLValue], _ buffers: [[UInt8]],
                                             _ body: (UnsafeBufferPointer<kn_storage_value>) -> R) -> R {
        var values: [kn_storage_value] = []
        values.reserveCapacity(parameters.count)
        // Pin every buffer: nest withUnsafeBufferPointer through the list.
        func pin(_ index: Int, _ pointers: [kn_bytes]) -> R {
            if index == buffers.count {
                for (parameter, bytes) in zip(parameters, pointers) { values.append(parameter.cValue(bytes)) }
                return values.withUnsafeBufferPointer(body)
            }
            return buffers[index].withUnsafeBufferPointer { buffer in
                pin(index + 1, pointers + [kn_bytes(ptr: buffer.baseAddress, len: buffer.count)])
            }
        }
        return pin(0, [])
    }
}

/// A typed SQL value: a parameter or a cell.
///
/// ```swift
/// try await storage.sql.execute("UPDATE users SET age = $1, nickname = $2 WHERE id = $3", [.integer(36), nil, "42"])
/// let age = row["age"].int
/// ```
public enum SQLValue: Sendable, Equatable, Hashable, ExpressibleByStringLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByFloatLiteral, ExpressibleByBooleanLiteral, ExpressibleByNilLiteral {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob([UInt8])
    case bool(Bool)

    public init(stringLiteral value: String) { self = .text(value) }
    public init(integerLiteral value: Int64) { self = .integer(value) }
    public init(floatLiteral value: Double) { self = .real(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(nilLiteral: ()) { self = .null }

    /// nil becomes NULL.
    public static func text(_ value: String?) -> SQLValue { value.map { .text($0) } ?? .null }
    public static func integer(_ value: Int64?) -> SQLValue { value.map { .integer($0) } ?? .null }

    public var isNull: Bool { self == .null }
    public var int: Int64? {
        switch self {
        case .integer(let value): value
        case .bool(let value): value ? 1 : 0
        case .real(let value): Int64(exactly: value)
        case .text(let value): Int64(value)
        default: nil
        }
    }
    public var double: Double? {
        switch self {
        case .real(let value): value
        case .integer(let value): Double(value)
        case .text(let value): Double(value)
        default: nil
        }
    }
    public var string: String? {
        switch self {
        case .text(let value): value
        case .integer(let value): String(value)
        case .real(let value): String(value)
        case .bool(let value): String(value)
        case .blob(let value): String(decoding: value, as: UTF8.self)
        case .null: nil
        }
    }
    /// Booleans: PostgreSQL's bool, SQLite's 0/1 integer.
    public var bool: Bool? {
        switch self {
        case .bool(let value): value
        case .integer(let value): value != 0
        default: nil
        }
    }
    public var bytes: [UInt8]? {
        switch self {
        case .blob(let value): value
        case .text(let value): Array(value.utf8)
        default: nil
        }
    }

    var storageBytes: [UInt8] {
        switch self {
        case .text(let text): Array(text.utf8)
        case .blob(let bytes): bytes
        default: []
        }
    }

    func cValue(_ bytes: kn_bytes) -> kn_storage_value {
        var value = kn_storage_value()
        switch self {
        case .null: value.type = UInt32(KN_STORAGE_NULL)
        case .integer(let number):
            value.type = UInt32(KN_STORAGE_INTEGER)
            value.integer = number
        case .real(let number):
            value.type = UInt32(KN_STORAGE_REAL)
            value.real = number
        case .bool(let flag):
            value.type = UInt32(KN_STORAGE_BOOL)
            value.integer = flag ? 1 : 0
        case .text:
            value.type = UInt32(KN_STORAGE_TEXT)
            value.bytes = bytes
        case .blob:
            value.type = UInt32(KN_STORAGE_BLOB)
            value.bytes = bytes
        }
        return value
    }

    init(_ value: kn_storage_value) {
        switch Int32(value.type) {
        case KN_STORAGE_INTEGER: self = .integer(value.integer)
        case KN_STORAGE_REAL: self = .real(value.real)
        case KN_STORAGE_BOOL: self = .bool(value.integer != 0)
        case KN_STORAGE_TEXT: self = .text(String(decoding: value.bytes.copiedBytes, as: UTF8.self))
        case KN_STORAGE_BLOB: self = .blob(value.bytes.copiedBytes)
        default: self = .null
        }
    }
}

/// The rows of one statement (a copy).
///
/// ```swift
/// let rows = try await storage.sql.query("SELECT count(*) AS n FROM users")
/// let count = rows.first?["n"].int ?? 0
/// ```
public struct SQLRows: Sendable {
    public let columns: [String]
    public let rows: [SQLRow]
    /// Rows inserted, updated or deleted.
    public let rowsAffected: UInt64

    init(_ rows: kn_storage_rows) {
        let columns = (0..<rows.column_count).map { String(decoding: rows.columns[$0].copiedBytes, as: UTF8.self) }
        let index = Dictionary(columns.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
        self.columns = columns
        self.rows = (0..<rows.row_count).map { row in
            SQLRow(values: (0..<rows.column_count).map { SQLValue(rows.values[row * rows.column_count + $0]) }, index: index)
        }
        rowsAffected = rows.rows_affected
    }

    public var first: SQLRow? { rows.first }
    public var isEmpty: Bool { rows.isEmpty }
}

/// One row: cells by column name or position.
///
/// ```swift
/// let email = row["email"].string
/// let first = row[0]
/// ```
public struct SQLRow: Sendable {
    public let values: [SQLValue]
    let index: [String: Int]

    /// The cell of column `name`; `.null` when there is no such column.
    public subscript(_ name: String) -> SQLValue { index[name].map { values[$0] } ?? .null }
    public subscript(_ position: Int) -> SQLValue { values[position] }
}
