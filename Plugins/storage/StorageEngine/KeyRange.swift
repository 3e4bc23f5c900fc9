/// Byte-wise key ranges, the same on both backends.
enum KeyRange {
    /// The smallest key greater than every key starting with `prefix`, or
    /// nil when there is none (empty prefix, or only 0xFF bytes).
    static func upperBound(ofPrefix prefix: [UInt8]) -> [UInt8]? {
        var bound = prefix
        while let last = bound.last {
            if last < 0xFF {
                bound[bound.count - 1] = last + 1
                return bound
            }
            bound.removeLast()
        }
        return nil
    }

    /// A page from up to limit + 1 entries: the extra one only says there is more.
    static func page(_ entries: [KVEntry], limit: Int) -> KVPage {
        guard entries.count > limit else { return KVPage(entries: entries, nextCursor: []) }
        let kept = Array(entries.prefix(limit))
        return KVPage(entries: kept, nextCursor: kept.last?.key ?? [])
    }
}

/// Which offsets a trim keeps.
enum LogRetention {
    static let keepAll = UInt64.max

    /// The first offset kept when at most `keepLast` records remain.
    static func firstKept(first: UInt64, next: UInt64, keepLast: UInt64) -> UInt64 {
        guard keepLast != keepAll else { return first }
        let retained = next - first
        return retained > keepLast ? next - keepLast : first
    }
}

/// Migrations as given, checked and in the order they apply.
enum MigrationPlan {
    static func ordered(_ migrations: [Migration]) throws -> [Migration] {
        var seen = Set<Int64>()
        for migration in migrations {
            guard migration.version > 0 else {
                throw StorageError.invalidArgument("migration version \(migration.version) must be positive")
            }
            guard seen.insert(migration.version).inserted else {
                throw StorageError.invalidArgument("migration version \(migration.version) appears twice")
            }
            if migration.sql.allSatisfy(\.isWhitespace) {
                throw StorageError.invalidArgument("migration \(migration.version) has no SQL")
            }
        }
        return migrations.sorted { $0.version < $1.version }
    }

    /// A failed migration's error, naming its version, with the cause's code.
    static func failure(_ version: Int64, _ error: any Error) -> StorageError {
        let cause = StorageError.wrap(error)
        return StorageError(cause.code, "migration \(version) failed: \(cause.message)")
    }
}
