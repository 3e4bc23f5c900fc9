/// One key of the key-value store. `expiresAtMilliseconds` is 0 without TTL.
public struct KVEntry: Sendable, Equatable {
    public var key: [UInt8]
    public var value: [UInt8]
    public var version: UInt64
    public var expiresAtMilliseconds: Int64

    public init(key: [UInt8], value: [UInt8], version: UInt64, expiresAtMilliseconds: Int64) {
        self.key = key
        self.value = value
        self.version = version
        self.expiresAtMilliseconds = expiresAtMilliseconds
    }
}

/// One page of a scan; `nextCursor` is empty on the last page.
public struct KVPage: Sendable {
    public var entries: [KVEntry]
    public var nextCursor: [UInt8]
}

public struct LogRecord: Sendable, Equatable {
    public var offset: UInt64
    public var appendedAtMilliseconds: Int64
    public var payload: [UInt8]
}

/// Records read from a stream, with its retention window.
public struct LogBatch: Sendable {
    public var records: [LogRecord]
    public var firstOffset: UInt64
    public var nextOffset: UInt64
    /// The reader asked for offsets that were trimmed.
    public var gap: Bool
}

public struct TrimOutcome: Sendable {
    public var firstOffset: UInt64
    public var removed: UInt64
}

/// A typed SQL value: a parameter or a cell.
public enum SQLValue: Sendable, Equatable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob([UInt8])
    case bool(Bool)
}

/// What one statement returned.
public struct SQLResult: Sendable {
    public var columns: [String]
    public var rows: [[SQLValue]]
    public var rowsAffected: UInt64

    public init(columns: [String] = [], rows: [[SQLValue]] = [], rowsAffected: UInt64 = 0) {
        self.columns = columns
        self.rows = rows
        self.rowsAffected = rowsAffected
    }
}

public struct Migration: Sendable {
    public var version: Int64
    public var sql: String
    public init(version: Int64, sql: String) {
        self.version = version
        self.sql = sql
    }
}

/// The operator's view of the store.
public struct StorageStatus: Sendable {
    public struct Namespace: Sendable {
        public var name: String
        public var keys: Int64
    }
    public struct Stream: Sendable {
        public var namespace: String
        public var name: String
        public var firstOffset: UInt64
        public var nextOffset: UInt64
    }
    public var backend: String
    /// Where the data is: a file path or a redacted URL.
    public var location: String
    public var sizeBytes: Int64
    public var namespaces: [Namespace]
    public var streams: [Stream]
    public var sqlSpaces: [String]
    /// "ready", or why the backend is not connected yet (`ConnectingBackend`).
    public var connection: String = "ready"
}
