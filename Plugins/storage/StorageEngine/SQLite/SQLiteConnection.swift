import CSQLite

/// One SQLite connection, used by one thread at a time (its worker's).
/// Statements of the store's own schema are prepared once and cached.
final class SQLiteConnection {
    let path: String
    private let handle: OpaquePointer
    private var cache: [String: SQLiteStatement] = [:]

    /// Opens (creating) the database at `path`. `busyTimeout`: how long a
    /// write waits for another connection's lock before failing.
    init(path: String, readOnly: Bool = false, busyTimeoutMilliseconds: Int32 = 10_000) throws {
        self.path = path
        var db: OpaquePointer?
        let flags = (readOnly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) | SQLITE_OPEN_NOMUTEX
        let code = sqlite3_open_v2(path, &db, flags, nil)
        guard code == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(code))
            sqlite3_close_v2(db)
            throw StorageError.unavailable("cannot open \(path): \(message)")
        }
        handle = db
        sqlite3_extended_result_codes(db, 1)
        sqlite3_busy_timeout(db, busyTimeoutMilliseconds)
    }

    deinit {
        cache.removeAll() // finalize statements before closing
        sqlite3_close_v2(handle)
    }

    /// Forbids ATTACH, so a plugin's SQL cannot open another database file
    /// (the store's, or another plugin's).
    func forbidAttach() {
        sqlite3_limit(handle, SQLITE_LIMIT_ATTACHED, 0)
    }

    /// Runs one or more statements without parameters (schema, pragmas, BEGIN...).
    func execute(_ sql: String) throws {
        var errorMessage: UnsafeMutablePointer<CChar>?
        let code = sqlite3_exec(handle, sql, nil, nil, &errorMessage)
        if code != SQLITE_OK {
            let message = errorMessage.map { String(cString: $0) } ?? lastMessage
            sqlite3_free(errorMessage)
            throw SQLiteConnection.error(code: sqlite3_extended_errcode(handle), message: message)
        }
    }

    /// A cached prepared statement of the store's own SQL, reset for reuse.
    func cached(_ sql: String) throws -> SQLiteStatement {
        if let statement = cache[sql] {
            statement.reset()
            return statement
        }
        let statement = try prepare(sql)
        cache[sql] = statement
        return statement
    }

    /// A new prepared statement (one statement: text after the first is an error).
    func prepare(_ sql: String) throws -> SQLiteStatement {
        var statement: OpaquePointer?
        var tailOffset = 0
        let code = sql.withCString { text -> Int32 in
            var tail: UnsafePointer<CChar>?
            let code = sqlite3_prepare_v3(handle, text, -1, 0, &statement, &tail)
            if let tail { tailOffset = text.distance(to: tail) }
            return code
        }
        guard code == SQLITE_OK else {
            throw SQLiteConnection.error(code: sqlite3_extended_errcode(handle), message: lastMessage)
        }
        guard let statement else { throw StorageError.invalidArgument("SQL text holds no statement") }
        let rest = sql.utf8.dropFirst(tailOffset)
        if !rest.allSatisfy({ $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\n") || $0 == UInt8(ascii: "\t") || $0 == UInt8(ascii: "\r") || $0 == UInt8(ascii: ";") }) {
            sqlite3_finalize(statement)
            throw StorageError.invalidArgument("one statement per call: SQL text continues after the first statement")
        }
        return SQLiteStatement(handle: statement, connection: self)
    }

    /// Runs one statement of a plugin with parameters and collects its rows.
    func run(_ sql: String, _ parameters: [SQLValue]) throws -> SQLResult {
        if let positional = PositionalParameters.rewrite(sql) {
            let statement = try prepare(positional)
            try statement.bindInOrder(parameters)
            return try statement.collect()
        }
        let statement = try prepare(sql)
        try statement.bind(parameters)
        return try statement.collect()
    }

    var changes: Int64 { sqlite3_changes64(handle) }
    var isInTransaction: Bool { sqlite3_get_autocommit(handle) == 0 }
    var lastMessage: String { String(cString: sqlite3_errmsg(handle)) }

    // Extended codes are macros Swift does not import: SQLITE_CONSTRAINT | (n << 8).
    static let constraintUnique = SQLITE_CONSTRAINT | (8 << 8)
    static let constraintPrimaryKey = SQLITE_CONSTRAINT | (6 << 8)

    /// SQLite's result codes as typed errors.
    static func error(code: Int32, message: String) -> StorageError {
        switch code & 0xff {
        case SQLITE_CONSTRAINT:
            if code == constraintUnique || code == constraintPrimaryKey {
                return .conflict(message)
            }
            return .invalidArgument(message)
        case SQLITE_ERROR, SQLITE_RANGE, SQLITE_MISMATCH, SQLITE_AUTH, SQLITE_READONLY:
            return .invalidArgument(message)
        case SQLITE_BUSY, SQLITE_LOCKED: return StorageError(.timeout, "database is locked: \(message)")
        case SQLITE_TOOBIG: return .tooLarge(message)
        case SQLITE_FULL, SQLITE_IOERR, SQLITE_CANTOPEN, SQLITE_NOMEM: return .unavailable(message)
        default: return .internal("sqlite error \(code): \(message)")
        }
    }
}

/// A prepared statement: bind, step, read columns.
final class SQLiteStatement {
    private let handle: OpaquePointer
    private unowned let connection: SQLiteConnection
    /// SQLITE_TRANSIENT: SQLite copies bound bytes before bind returns.
    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    init(handle: OpaquePointer, connection: SQLiteConnection) {
        self.handle = handle
        self.connection = connection
    }

    deinit { sqlite3_finalize(handle) }

    func reset() {
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
    }

    /// Binds `$N` (and `?N`) parameters by their number, so the same text
    /// works on PostgreSQL; plain `?` and named ones bind in order.
    func bind(_ values: [SQLValue]) throws {
        let count = Int(sqlite3_bind_parameter_count(handle))
        guard count <= values.count else {
            throw StorageError.invalidArgument("statement has \(count) parameters but \(values.count) were given")
        }
        for index in 1...max(count, 1) where index <= count {
            var valueIndex = index - 1
            if let name = sqlite3_bind_parameter_name(handle, Int32(index)).map({ String(cString: $0) }),
               name.hasPrefix("$") || name.hasPrefix("?"), let number = Int(name.dropFirst()) {
                guard number >= 1, number <= values.count else {
                    throw StorageError.invalidArgument("parameter \(name) has no value (\(values.count) given)")
                }
                valueIndex = number - 1
            }
            try bind(values[valueIndex], at: Int32(index))
        }
    }

    /// Binds `values` to `?` parameters by position (PositionalParameters).
    func bindInOrder(_ values: [SQLValue]) throws {
        let count = Int(sqlite3_bind_parameter_count(handle))
        guard count <= values.count else {
            throw StorageError.invalidArgument("statement has \(count) parameters but \(values.count) were given")
        }
        for index in 0..<count { try bind(values[index], at: Int32(index + 1)) }
    }

    /// Binds the parameter at position `index` (1-based, as SQLite counts).
    func bind(_ value: SQLValue, at index: Int32) throws {
        let code: Int32
        switch value {
        case .null: code = sqlite3_bind_null(handle, index)
        case .integer(let number): code = sqlite3_bind_int64(handle, index, number)
        case .bool(let flag): code = sqlite3_bind_int64(handle, index, flag ? 1 : 0)
        case .real(let number): code = sqlite3_bind_double(handle, index, number)
        case .text(let text): code = sqlite3_bind_text64(handle, index, text, UInt64(text.utf8.count), Self.transient, UInt8(SQLITE_UTF8))
        case .blob(let bytes): code = bind(blob: bytes, atPosition: index)
        }
        guard code == SQLITE_OK else { throw SQLiteConnection.error(code: code, message: connection.lastMessage) }
    }

    /// Binds `$index` of the store's own SQL.
    func bind(bytes: [UInt8], at index: Int32) -> Int32 { bind(blob: bytes, atPosition: position(index)) }

    private func bind(blob bytes: [UInt8], atPosition index: Int32) -> Int32 {
        bytes.withUnsafeBytes { buffer in
            // A zero-length blob needs a non-NULL pointer to be a blob, not NULL.
            sqlite3_bind_blob64(handle, index, buffer.baseAddress ?? UnsafeRawPointer(bitPattern: 1), UInt64(buffer.count), Self.transient)
        }
    }

    func bind(_ number: Int64, at index: Int32) { sqlite3_bind_int64(handle, position(index), number) }
    func bind(text: String, at index: Int32) {
        sqlite3_bind_text64(handle, position(index), text, UInt64(text.utf8.count), Self.transient, UInt8(SQLITE_UTF8))
    }

    /// Where `$index` sits among the statement's parameters (SQLite numbers
    /// named parameters by first appearance, not by their digits).
    private func position(_ index: Int32) -> Int32 {
        let found = sqlite3_bind_parameter_index(handle, "$\(index)")
        return found > 0 ? found : index
    }

    /// Steps once: true when a row is available.
    func step() throws -> Bool {
        let code = sqlite3_step(handle)
        switch code {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default: throw SQLiteConnection.error(code: code == SQLITE_ERROR ? sqlite3_extended_errcode(sqlite3_db_handle(handle)) : code, message: connection.lastMessage)
        }
    }

    /// Steps to the end without reading rows.
    func run() throws {
        while try step() {}
    }

    func int64(_ column: Int32) -> Int64 { sqlite3_column_int64(handle, column) }
    func isNull(_ column: Int32) -> Bool { sqlite3_column_type(handle, column) == SQLITE_NULL }

    func bytes(_ column: Int32) -> [UInt8] {
        let count = Int(sqlite3_column_bytes(handle, column))
        guard count > 0, let pointer = sqlite3_column_blob(handle, column) else { return [] }
        return Array(UnsafeRawBufferPointer(start: pointer, count: count))
    }

    func text(_ column: Int32) -> String {
        guard let pointer = sqlite3_column_text(handle, column) else { return "" }
        return String(cString: pointer)
    }

    func value(_ column: Int32) -> SQLValue {
        switch sqlite3_column_type(handle, column) {
        case SQLITE_INTEGER: return .integer(sqlite3_column_int64(handle, column))
        case SQLITE_FLOAT: return .real(sqlite3_column_double(handle, column))
        case SQLITE_TEXT:
            let count = Int(sqlite3_column_bytes(handle, column))
            guard let pointer = sqlite3_column_text(handle, column) else { return .text("") }
            return .text(String(decoding: UnsafeBufferPointer(start: pointer, count: count), as: UTF8.self))
        case SQLITE_BLOB: return .blob(bytes(column))
        default: return .null
        }
    }

    /// Runs to the end, collecting every row.
    func collect() throws -> SQLResult {
        let columnCount = sqlite3_column_count(handle)
        let columns = (0..<columnCount).map { String(cString: sqlite3_column_name(handle, $0)) }
        var rows: [[SQLValue]] = []
        while try step() {
            rows.append((0..<columnCount).map { value($0) })
        }
        // Reads report no changes (sqlite3_changes keeps the last write's count).
        let affected = sqlite3_stmt_readonly(handle) != 0 ? 0 : UInt64(max(0, connection.changes))
        return SQLResult(columns: columns, rows: rows, rowsAffected: affected)
    }
}
