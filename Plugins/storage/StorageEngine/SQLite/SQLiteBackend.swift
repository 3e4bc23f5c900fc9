import Foundation

/// The embedded backend: `storage.sqlite` (keys and logs) in the storage
/// plugin's data directory, written by one group-committing writer and read
/// by a reader connection; SQL of each plugin in `sql/<plugin>.sqlite`.
public final class SQLiteBackend: StorageBackend {
    public let name = "sqlite"
    let directory: String
    let path: String
    private let writer: SQLiteWriter
    private let reader: SQLiteWorker
    let spaces: SQLiteSpaces

    public static func open(directory: String, synchronous: SQLiteSynchronous = .full) async throws -> SQLiteBackend {
        let path = directory + "/storage.sqlite"
        do {
            try FileManager.default.createDirectory(atPath: directory + "/sql", withIntermediateDirectories: true)
        } catch {
            throw StorageError.unavailable("cannot create \(directory)/sql: \(error)")
        }
        let writer = try await SQLiteWriter(name: "storage.sqlite.writer") {
            let connection = try SQLiteConnection(path: path)
            try connection.execute(SQLiteSchema.pragmas(synchronous: synchronous))
            try connection.execute(SQLiteSchema.create)
            let clock = try connection.cached("SELECT value FROM kn_meta WHERE key = 'kv_version'")
            let lastVersion = try clock.step() ? clock.int64(0) : 0
            clock.reset()
            return SQLiteWriter.Session(connection: connection, lastVersion: lastVersion)
        }
        // Opened after the writer, so the schema exists.
        let reader = try await SQLiteWorker(name: "storage.sqlite.reader") {
            let connection = try SQLiteConnection(path: path)
            try connection.execute("PRAGMA query_only = ON")
            return connection
        }
        return SQLiteBackend(directory: directory, path: path, writer: writer, reader: reader,
                             spaces: SQLiteSpaces(directory: directory + "/sql", synchronous: synchronous))
    }

    private init(directory: String, path: String, writer: SQLiteWriter, reader: SQLiteWorker, spaces: SQLiteSpaces) {
        self.directory = directory
        self.path = path
        self.writer = writer
        self.reader = reader
        self.spaces = spaces
    }

    public func shutdown() async {
        spaces.stopAll()
        reader.stop()
        writer.stop()
    }

    // MARK: Key-value

    static let live = "(expires_at = 0 OR expires_at > $3)"

    public func kvGet(namespace: String, key: [UInt8]) async throws -> KVEntry? {
        let now = WallClock.nowMilliseconds()
        return try await reader.run { connection in
            let select = try connection.cached(
                "SELECT value, version, expires_at FROM kn_kv WHERE ns = $1 AND key = $2 AND \(Self.live)")
            select.bind(text: namespace, at: 1)
            _ = select.bind(bytes: key, at: 2)
            select.bind(now, at: 3)
            guard try select.step() else { return nil }
            let entry = KVEntry(key: key, value: select.bytes(0), version: UInt64(select.int64(1)),
                                expiresAtMilliseconds: select.int64(2))
            select.reset()
            return entry
        }
    }

    public func kvPut(namespace: String, key: [UInt8], value: [UInt8], ttlMilliseconds: UInt64) async throws -> KVEntry {
        let expiry = WallClock.expiry(ttlMilliseconds: ttlMilliseconds)
        return try await writer.write { session in
            try Self.upsert(session, namespace, key, value, expiry)
        }
    }

    public func kvCompareAndSet(namespace: String, key: [UInt8], expectedVersion: UInt64, value: [UInt8],
                                ttlMilliseconds: UInt64) async throws -> KVEntry {
        let expiry = WallClock.expiry(ttlMilliseconds: ttlMilliseconds)
        return try await writer.write { session in
            // The writer is the only one: read-then-write is atomic here.
            let select = try session.connection.cached(
                "SELECT version FROM kn_kv WHERE ns = $1 AND key = $2 AND \(Self.live)")
            select.bind(text: namespace, at: 1)
            _ = select.bind(bytes: key, at: 2)
            select.bind(WallClock.nowMilliseconds(), at: 3)
            let current = try select.step() ? UInt64(select.int64(0)) : 0
            select.reset()
            guard current == expectedVersion else {
                throw StorageError.conflict(current == 0
                    ? "version \(expectedVersion) is stale: the key is absent"
                    : "version \(expectedVersion) is stale: the key is at version \(current)")
            }
            return try Self.upsert(session, namespace, key, value, expiry)
        }
    }

    private static func upsert(_ session: SQLiteWriter.Session, _ namespace: String, _ key: [UInt8],
                               _ value: [UInt8], _ expiry: Int64) throws -> KVEntry {
        let version = session.nextVersion()
        let insert = try session.connection.cached("""
            INSERT INTO kn_kv (ns, key, value, version, expires_at) VALUES ($1, $2, $3, $4, $5)
            ON CONFLICT (ns, key) DO UPDATE SET value = excluded.value, version = excluded.version,
            expires_at = excluded.expires_at
            """)
        insert.bind(text: namespace, at: 1)
        _ = insert.bind(bytes: key, at: 2)
        _ = insert.bind(bytes: value, at: 3)
        insert.bind(version, at: 4)
        insert.bind(expiry, at: 5)
        try insert.run()
        return KVEntry(key: key, value: value, version: UInt64(version), expiresAtMilliseconds: expiry)
    }

    public func kvDelete(namespace: String, key: [UInt8]) async throws -> KVEntry? {
        try await writer.write { session in
            let delete = try session.connection.cached(
                "DELETE FROM kn_kv WHERE ns = $1 AND key = $2 RETURNING value, version, expires_at")
            delete.bind(text: namespace, at: 1)
            _ = delete.bind(bytes: key, at: 2)
            guard try delete.step() else { return nil }
            let entry = KVEntry(key: key, value: delete.bytes(0), version: UInt64(delete.int64(1)),
                                expiresAtMilliseconds: delete.int64(2))
            try delete.run()
            // An expired key was already absent to readers.
            if entry.expiresAtMilliseconds != 0 && entry.expiresAtMilliseconds <= WallClock.nowMilliseconds() { return nil }
            return entry
        }
    }

    public func kvScan(namespace: String, prefix: [UInt8], after cursor: [UInt8], limit: Int) async throws -> KVPage {
        let now = WallClock.nowMilliseconds()
        let upper = KeyRange.upperBound(ofPrefix: prefix)
        return try await reader.run { connection in
            let select = try connection.cached("""
                SELECT key, value, version, expires_at FROM kn_kv
                WHERE ns = $1 AND key >= $2 AND \(Self.live) AND key > $4 AND ($5 IS NULL OR key < $5)
                ORDER BY key LIMIT $6
                """)
            select.bind(text: namespace, at: 1)
            _ = select.bind(bytes: prefix, at: 2)
            select.bind(now, at: 3)
            _ = select.bind(bytes: cursor, at: 4)
            if let upper { _ = select.bind(bytes: upper, at: 5) }
            select.bind(Int64(limit + 1), at: 6)
            var entries: [KVEntry] = []
            while try select.step() {
                entries.append(KVEntry(key: select.bytes(0), value: select.bytes(1), version: UInt64(select.int64(2)),
                                       expiresAtMilliseconds: select.int64(3)))
            }
            return KeyRange.page(entries, limit: limit)
        }
    }

    public func kvSweepExpired() async throws -> Int {
        let now = WallClock.nowMilliseconds()
        return try await writer.write { session in
            let delete = try session.connection.cached(
                "DELETE FROM kn_kv WHERE expires_at > 0 AND expires_at <= $1")
            delete.bind(now, at: 1)
            try delete.run()
            return Int(session.connection.changes)
        }
    }

    // MARK: Logs

    public func logAppend(namespace: String, stream: String, payload: [UInt8]) async throws -> UInt64 {
        let now = WallClock.nowMilliseconds()
        return try await writer.write { session in
            let advance = try session.connection.cached("""
                INSERT INTO kn_log_streams (ns, stream, first_offset, next_offset) VALUES ($1, $2, 0, 1)
                ON CONFLICT (ns, stream) DO UPDATE SET next_offset = next_offset + 1
                RETURNING next_offset - 1
                """)
            advance.bind(text: namespace, at: 1)
            advance.bind(text: stream, at: 2)
            guard try advance.step() else { throw StorageError.internal("append returned no offset") }
            let offset = advance.int64(0)
            try advance.run()
            let insert = try session.connection.cached(
                "INSERT INTO kn_log (ns, stream, off, appended_at, payload) VALUES ($1, $2, $3, $4, $5)")
            insert.bind(text: namespace, at: 1)
            insert.bind(text: stream, at: 2)
            insert.bind(offset, at: 3)
            insert.bind(now, at: 4)
            _ = insert.bind(bytes: payload, at: 5)
            try insert.run()
            return UInt64(offset)
        }
    }

    public func logRead(namespace: String, stream: String, from: UInt64, limit: Int) async throws -> LogBatch {
        try await reader.run { connection in
            // One read transaction: records and retention from the same snapshot.
            try connection.execute("BEGIN")
            defer { try? connection.execute("COMMIT") }
            let select = try connection.cached("""
                SELECT off, appended_at, payload FROM kn_log
                WHERE ns = $1 AND stream = $2 AND off >= $3 ORDER BY off LIMIT $4
                """)
            select.bind(text: namespace, at: 1)
            select.bind(text: stream, at: 2)
            select.bind(Int64(clamping: from), at: 3)
            select.bind(Int64(limit), at: 4)
            var records: [LogRecord] = []
            while try select.step() {
                records.append(LogRecord(offset: UInt64(select.int64(0)), appendedAtMilliseconds: select.int64(1),
                                         payload: select.bytes(2)))
            }
            let (first, next) = try Self.streamBounds(connection, namespace, stream)
            return LogBatch(records: records, firstOffset: first, nextOffset: next, gap: from < first)
        }
    }

    static func streamBounds(_ connection: SQLiteConnection, _ namespace: String, _ stream: String) throws -> (UInt64, UInt64) {
        let select = try connection.cached("SELECT first_offset, next_offset FROM kn_log_streams WHERE ns = $1 AND stream = $2")
        select.bind(text: namespace, at: 1)
        select.bind(text: stream, at: 2)
        defer { select.reset() }
        guard try select.step() else { return (0, 0) }
        return (UInt64(select.int64(0)), UInt64(select.int64(1)))
    }

    public func logTrim(namespace: String, stream: String, keepLast: UInt64, beforeMilliseconds: Int64) async throws -> TrimOutcome {
        try await writer.write { session in
            let connection = session.connection
            let (first, next) = try Self.streamBounds(connection, namespace, stream)
            var newFirst = LogRetention.firstKept(first: first, next: next, keepLast: keepLast)
            if beforeMilliseconds > 0 {
                let oldestKept = try connection.cached("""
                    SELECT min(off) FROM kn_log WHERE ns = $1 AND stream = $2 AND off >= $3 AND appended_at >= $4
                    """)
                oldestKept.bind(text: namespace, at: 1)
                oldestKept.bind(text: stream, at: 2)
                oldestKept.bind(Int64(newFirst), at: 3)
                oldestKept.bind(beforeMilliseconds, at: 4)
                let found = try oldestKept.step() && !oldestKept.isNull(0)
                let candidate = found ? UInt64(oldestKept.int64(0)) : next
                oldestKept.reset()
                newFirst = max(newFirst, candidate)
            }
            guard newFirst > first else { return TrimOutcome(firstOffset: first, removed: 0) }
            let delete = try connection.cached("DELETE FROM kn_log WHERE ns = $1 AND stream = $2 AND off < $3")
            delete.bind(text: namespace, at: 1)
            delete.bind(text: stream, at: 2)
            delete.bind(Int64(newFirst), at: 3)
            try delete.run()
            let removed = UInt64(max(0, connection.changes))
            let update = try connection.cached("UPDATE kn_log_streams SET first_offset = $3 WHERE ns = $1 AND stream = $2")
            update.bind(text: namespace, at: 1)
            update.bind(text: stream, at: 2)
            update.bind(Int64(newFirst), at: 3)
            try update.run()
            return TrimOutcome(firstOffset: newFirst, removed: removed)
        }
    }

    // MARK: SQL

    public func sqlRun(space: String, sql: String, parameters: [SQLValue]) async throws -> SQLResult {
        try await spaces.worker(for: space).run { connection in try connection.run(sql, parameters) }
    }

    public func sqlBegin(space: String) async throws -> any SQLTransaction {
        try await SQLiteTransaction.begin(path: spaces.path(for: space), synchronous: spaces.synchronous)
    }

    public func sqlMigrate(space: String, migrations: [Migration]) async throws -> [Int64] {
        let ordered = try MigrationPlan.ordered(migrations)
        return try await spaces.worker(for: space).run { connection in
            try SQLiteMigrator.apply(ordered, on: connection)
        }
    }

    // MARK: Operator view

    public func status() async throws -> StorageStatus {
        let now = WallClock.nowMilliseconds()
        var status = try await reader.run { connection in
            var namespaces: [StorageStatus.Namespace] = []
            let counts = try connection.cached(
                "SELECT ns, count(*) FROM kn_kv WHERE (expires_at = 0 OR expires_at > $1) GROUP BY ns ORDER BY ns")
            counts.bind(now, at: 1)
            while try counts.step() { namespaces.append(.init(name: counts.text(0), keys: counts.int64(1))) }
            var streams: [StorageStatus.Stream] = []
            let list = try connection.cached("SELECT ns, stream, first_offset, next_offset FROM kn_log_streams ORDER BY ns, stream")
            while try list.step() {
                streams.append(.init(namespace: list.text(0), name: list.text(1), firstOffset: UInt64(list.int64(2)),
                                     nextOffset: UInt64(list.int64(3))))
            }
            return StorageStatus(backend: "sqlite", location: self.path, sizeBytes: 0, namespaces: namespaces,
                                 streams: streams, sqlSpaces: [])
        }
        status.sqlSpaces = spaces.existingSpaces()
        status.sizeBytes = Self.fileSizes(in: directory)
        return status
    }

    /// Bytes of every database, WAL and shared-memory file of the store.
    static func fileSizes(in directory: String) -> Int64 {
        var total: Int64 = 0
        for sub in ["", "/sql"] {
            let folder = directory + sub
            for name in (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [] where name.contains(".sqlite") {
                let size = (try? FileManager.default.attributesOfItem(atPath: folder + "/" + name)[.size] as? NSNumber)?.int64Value
                total += size ?? 0
            }
        }
        return total
    }
}
