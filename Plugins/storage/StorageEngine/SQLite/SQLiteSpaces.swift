import Foundation

/// The SQL databases of plugins: one file per plugin, `sql/<plugin>.sqlite`,
/// each with a worker for statements outside transactions.
final class SQLiteSpaces: @unchecked Sendable {
    let directory: String
    let synchronous: SQLiteSynchronous
    private let lock = NSLock()
    private var workers: [String: Task<SQLiteWorker, any Error>] = [:]

    init(directory: String, synchronous: SQLiteSynchronous) {
        self.directory = directory
        self.synchronous = synchronous
    }

    func path(for space: String) -> String { directory + "/" + space + ".sqlite" }

    /// The space's worker, opened on first use (once, even when asked concurrently).
    func worker(for space: String) async throws -> SQLiteWorker {
        let task: Task<SQLiteWorker, any Error> = lock.withLock {
            if let existing = workers[space] { return existing }
            let path = path(for: space)
            let synchronous = synchronous
            let created = Task {
                try await SQLiteWorker(name: "storage.sql.\(space)") {
                    try SQLiteSpaces.openConnection(path: path, synchronous: synchronous)
                }
            }
            workers[space] = created
            return created
        }
        do {
            return try await task.value
        } catch {
            lock.withLock { workers[space] = nil } // let a later call retry
            throw error
        }
    }

    static func openConnection(path: String, synchronous: SQLiteSynchronous) throws -> SQLiteConnection {
        let connection = try SQLiteConnection(path: path)
        try connection.execute(SQLiteSchema.pragmas(synchronous: synchronous))
        connection.forbidAttach()
        return connection
    }

    func existingSpaces() -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.filter { $0.hasSuffix(".sqlite") }.map { String($0.dropLast(".sqlite".count)) }.sorted()
    }

    func stopAll() {
        let tasks = lock.withLock { () -> [Task<SQLiteWorker, any Error>] in
            defer { workers.removeAll() }
            return Array(workers.values)
        }
        let group = DispatchGroup()
        for task in tasks {
            group.enter()
            Task {
                (try? await task.value)?.stop()
                group.leave()
            }
        }
        group.wait()
    }
}

/// A transaction on a connection and thread of its own; BEGIN IMMEDIATE
/// takes the write lock at once, so it never fails half-way for a lock.
final class SQLiteTransaction: SQLTransaction {
    private let worker: SQLiteWorker

    static func begin(path: String, synchronous: SQLiteSynchronous) async throws -> SQLiteTransaction {
        let worker = try await SQLiteWorker(name: "storage.sql.tx") {
            let connection = try SQLiteSpaces.openConnection(path: path, synchronous: synchronous)
            try connection.execute("BEGIN IMMEDIATE")
            return connection
        }
        return SQLiteTransaction(worker: worker)
    }

    private init(worker: SQLiteWorker) { self.worker = worker }

    func run(sql: String, parameters: [SQLValue]) async throws -> SQLResult {
        try await worker.run { connection in try connection.run(sql, parameters) }
    }

    func commit() async throws {
        defer { worker.stop() }
        try await worker.run { connection in try connection.execute("COMMIT") }
    }

    func rollback() async {
        _ = try? await worker.run { connection in
            if connection.isInTransaction { try connection.execute("ROLLBACK") }
        }
        worker.stop() // closing the connection rolls back anything left
    }
}

/// Applies migrations on a plugin's database, each once.
enum SQLiteMigrator {
    static func apply(_ migrations: [Migration], on connection: SQLiteConnection) throws -> [Int64] {
        try connection.execute(
            "CREATE TABLE IF NOT EXISTS _kn_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)")
        var applied: [Int64] = []
        for migration in migrations {
            // The write lock first: another instance may be applying the same list.
            try connection.execute("BEGIN IMMEDIATE")
            do {
                let check = try connection.prepare("SELECT 1 FROM _kn_migrations WHERE version = $1")
                check.bind(migration.version, at: 1)
                if try check.step() {
                    try connection.execute("COMMIT")
                    continue
                }
                try connection.execute(migration.sql)
                let record = try connection.prepare("INSERT INTO _kn_migrations (version, applied_at) VALUES ($1, $2)")
                record.bind(migration.version, at: 1)
                record.bind(WallClock.nowMilliseconds(), at: 2)
                try record.run()
                try connection.execute("COMMIT")
                applied.append(migration.version)
            } catch {
                if connection.isInTransaction { try? connection.execute("ROLLBACK") }
                throw MigrationPlan.failure(migration.version, error)
            }
        }
        return applied
    }
}
