import CSQLite
import Foundation

/// SQLite through its C API in this process, one connection, one
/// transaction per write (each write acknowledged on its own), the
/// plugin's pragmas (WAL, synchronous=FULL) and tables.
enum RawSQLiteBench {
    static func run(path: String, options: BenchOptions) throws -> BenchFigures {
        var db: OpaquePointer?
        guard sqlite3_open(path, &db) == SQLITE_OK, let db else { throw BenchError("cannot open \(path)") }
        defer { sqlite3_close(db) }
        try exec(db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;")
        try exec(db, """
            CREATE TABLE kv (ns TEXT NOT NULL, key BLOB NOT NULL, value BLOB NOT NULL, version INTEGER NOT NULL,
                             expires_at INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (ns, key)) WITHOUT ROWID;
            CREATE TABLE log (ns TEXT NOT NULL, stream TEXT NOT NULL, off INTEGER NOT NULL, appended_at INTEGER NOT NULL,
                              payload BLOB NOT NULL, PRIMARY KEY (ns, stream, off)) WITHOUT ROWID;
            """)
        let put = try prepare(db, """
            INSERT INTO kv (ns, key, value, version) VALUES ('bench', ?1, ?2, ?3)
            ON CONFLICT (ns, key) DO UPDATE SET value = excluded.value, version = excluded.version
            """)
        let get = try prepare(db, "SELECT value, version FROM kv WHERE ns = 'bench' AND key = ?1 AND (expires_at = 0 OR expires_at > ?2)")
        let append = try prepare(db, "INSERT INTO log (ns, stream, off, appended_at, payload) VALUES ('bench', 's', ?1, ?2, ?3)")
        defer { [put, get, append].forEach { sqlite3_finalize($0) } }
        let value = [UInt8](repeating: 0x76, count: options.valueBytes)
        let count = options.operations
        let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

        func timed(_ body: (Int) throws -> Void) rethrows -> Double {
            let start = ContinuousClock.now
            for index in 0..<count { try body(index) }
            let elapsed = ContinuousClock.now - start
            return Double(count) / (Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
        }
        let putRate = try timed { index in
            try exec(db, "BEGIN IMMEDIATE")
            let key = Array("k-\(index)".utf8)
            sqlite3_bind_blob(put, 1, key, Int32(key.count), transient)
            sqlite3_bind_blob(put, 2, value, Int32(value.count), transient)
            sqlite3_bind_int64(put, 3, Int64(index + 1))
            guard sqlite3_step(put) == SQLITE_DONE else { throw BenchError(String(cString: sqlite3_errmsg(db))) }
            sqlite3_reset(put)
            try exec(db, "COMMIT")
        }
        let getRate = try timed { index in
            let key = Array("k-\(index)".utf8)
            sqlite3_bind_blob(get, 1, key, Int32(key.count), transient)
            sqlite3_bind_int64(get, 2, Int64(Date().timeIntervalSince1970 * 1_000))
            guard sqlite3_step(get) == SQLITE_ROW else { throw BenchError("key \(index) missing") }
            _ = Array(UnsafeRawBufferPointer(start: sqlite3_column_blob(get, 0), count: Int(sqlite3_column_bytes(get, 0))))
            sqlite3_reset(get)
        }
        let appendRate = try timed { index in
            try exec(db, "BEGIN IMMEDIATE")
            sqlite3_bind_int64(append, 1, Int64(index))
            sqlite3_bind_int64(append, 2, Int64(Date().timeIntervalSince1970 * 1_000))
            sqlite3_bind_blob(append, 3, value, Int32(value.count), transient)
            guard sqlite3_step(append) == SQLITE_DONE else { throw BenchError(String(cString: sqlite3_errmsg(db))) }
            sqlite3_reset(append)
            try exec(db, "COMMIT")
        }
        return BenchFigures(label: "sqlite direct (C API)", concurrency: 1, put: putRate, get: getRate, append: appendRate)
    }

    static func exec(_ db: OpaquePointer, _ sql: String) throws {
        guard sqlite3_exec(db, sql, nil, nil, nil) == SQLITE_OK else { throw BenchError(String(cString: sqlite3_errmsg(db))) }
    }

    static func prepare(_ db: OpaquePointer, _ sql: String) throws -> OpaquePointer {
        var statement: OpaquePointer?
        guard sqlite3_prepare_v2(db, sql, -1, &statement, nil) == SQLITE_OK, let statement else {
            throw BenchError(String(cString: sqlite3_errmsg(db)))
        }
        return statement
    }
}

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
