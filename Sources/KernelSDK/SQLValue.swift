import CKernelABI

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
