import CKernelABI

/// The limits `Protocols/kn_storage.h` defines (`KN_STORAGE_MAX_*`), checked
/// before any backend sees a request so both backends refuse the same inputs.
public enum Limits {
    public static let maxKeyBytes = Int(KN_STORAGE_MAX_KEY_BYTES)
    public static let maxValueBytes = Int(KN_STORAGE_MAX_VALUE_BYTES)
    public static let maxRecordBytes = Int(KN_STORAGE_MAX_RECORD_BYTES)
    public static let maxStreamBytes = Int(KN_STORAGE_MAX_STREAM_BYTES)
    public static let maxPage = Int(KN_STORAGE_MAX_PAGE)
    public static let maxSQLBytes = Int(KN_STORAGE_MAX_SQL_BYTES)
    public static let maxParameterBytes = Int(KN_STORAGE_MAX_PARAM_BYTES)
    static let maxNamespaceBytes = Int(KN_STORAGE_MAX_NAMESPACE_BYTES)

    public static func checkKey(_ key: [UInt8]) throws {
        if key.isEmpty { throw StorageError.invalidArgument("key must not be empty") }
        if key.count > maxKeyBytes {
            throw StorageError.tooLarge("key is \(key.count) bytes; the limit is \(maxKeyBytes)")
        }
    }

    public static func checkValue(_ value: [UInt8]) throws {
        if value.count > maxValueBytes {
            throw StorageError.tooLarge("value is \(value.count) bytes; the limit is \(maxValueBytes) (1 MiB)")
        }
    }

    public static func checkRecord(_ payload: [UInt8]) throws {
        if payload.count > maxRecordBytes {
            throw StorageError.tooLarge("record is \(payload.count) bytes; the limit is \(maxRecordBytes) (1 MiB)")
        }
    }

    /// Stream names: [A-Za-z0-9._-]{1,128}.
    public static func checkStream(_ name: String) throws {
        let bytes = Array(name.utf8)
        guard !bytes.isEmpty, bytes.count <= maxStreamBytes,
              bytes.allSatisfy({ isAlphanumeric($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") })
        else { throw StorageError.invalidArgument("stream name '\(name)' must match [A-Za-z0-9._-]{1,128}") }
    }

    /// A page size: 1...maxPage (larger is clamped).
    public static func pageSize(_ limit: UInt32) throws -> Int {
        if limit == 0 { throw StorageError.invalidArgument("limit must be at least 1") }
        return min(Int(limit), maxPage)
    }

    public static func checkSQL(_ sql: String, _ parameters: [SQLValue]) throws {
        if sql.utf8.count > maxSQLBytes {
            throw StorageError.tooLarge("SQL text is \(sql.utf8.count) bytes; the limit is \(maxSQLBytes)")
        }
        if sql.allSatisfy(\.isWhitespace) { throw StorageError.invalidArgument("SQL text is empty") }
        for (index, parameter) in parameters.enumerated() {
            let size: Int
            switch parameter {
            case .text(let text): size = text.utf8.count
            case .blob(let bytes): size = bytes.count
            default: size = 0
            }
            if size > maxParameterBytes {
                throw StorageError.tooLarge("parameter $\(index + 1) is \(size) bytes; the limit is \(maxParameterBytes)")
            }
        }
    }

    static func isAlphanumeric(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
            || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
    }
}

/// Which namespace a caller reaches: its own, or a shared one it names.
public enum Namespaces {
    public static let sharedPrefix = "shared."

    /// `requested` nil or "" (or the caller's own name): the caller's
    /// namespace. "shared.<name>": that shared namespace. Anything else is
    /// not found, so one plugin never learns about another's keys.
    public static func resolve(caller: String, requested: String?) throws -> String {
        guard let requested, !requested.isEmpty, requested != caller else { return caller }
        guard requested.hasPrefix(sharedPrefix) else {
            throw StorageError(.notFound, "unknown namespace '\(requested)': a plugin reaches its own namespace and shared.* ones")
        }
        try checkName(requested)
        return requested
    }

    /// Names an operator may address: plugin names and shared.* names.
    public static func checkName(_ name: String) throws {
        let bytes = Array(name.utf8)
        let allowed = bytes.allSatisfy {
            ($0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "z")) || ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9"))
                || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: ".")
        }
        guard !bytes.isEmpty, bytes.count <= Limits.maxNamespaceBytes, allowed, name != sharedPrefix else {
            throw StorageError.invalidArgument("namespace '\(name)' must match [a-z0-9_.-]{1,64}")
        }
    }
}
