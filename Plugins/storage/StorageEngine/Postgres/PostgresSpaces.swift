import Foundation
import Logging
import NIOPosix
import PostgresNIO

/// One small pool per plugin that uses SQL. Its connections log in as the
/// plugin's own role, which owns the plugin's schema and has no right on any
/// other (nor on the storage's `kn_storage`), and start with search_path =
/// that schema: unqualified names are the plugin's own tables, and a
/// schema-qualified name into another plugin's tables is refused by
/// PostgreSQL itself. The role's password is kept in `kn_storage.roles`, so
/// every kernel on the database logs in the same way.
final class PostgresSpaces: @unchecked Sendable {
    private let settings: PostgresSettings
    private let group: MultiThreadedEventLoopGroup
    private let main: PostgresClient
    private let lock = NSLock()
    private var clients: [String: Task<PostgresClient, any Error>] = [:]
    private var runners: [Task<Void, Never>] = []

    init(settings: PostgresSettings, group: MultiThreadedEventLoopGroup, main: PostgresClient) {
        self.settings = settings
        self.group = group
        self.main = main
    }

    func client(for space: String) async throws -> PostgresClient {
        let task: Task<PostgresClient, any Error> = lock.withLock {
            if let existing = clients[space] { return existing }
            let created = Task { try await self.open(space) }
            clients[space] = created
            return created
        }
        do {
            return try await task.value
        } catch {
            lock.withLock { clients[space] = nil } // retry on the next call (server back, say)
            throw error
        }
    }

    private func open(_ space: String) async throws -> PostgresClient {
        let schema = PostgresSchema.space(space)
        let main = main
        let database = settings.databaseName
        let login = try await withDeadline(settings.operationTimeout) { () async throws -> (user: String, password: String) in
            try await main.withConnection { connection in
                let logger = PostgresBackend.logger
                // One password per plugin for every kernel on this database: the first one makes it.
                let candidate = (0..<4).map { _ in String(UInt64.random(in: 0...UInt64.max), radix: 16) }.joined()
                let role = PostgresSchema.role(space, database: database)
                _ = try await connection.query("""
                    INSERT INTO kn_storage.roles (plugin, role, password) VALUES (\(space), \(role), \(candidate))
                    ON CONFLICT (plugin) DO NOTHING
                    """, logger: logger).get()
                let rows = try await connection.query("SELECT role, password FROM kn_storage.roles WHERE plugin = \(space)",
                                                       logger: logger).get()
                guard let (user, password) = try rows.first(where: { _ in true })?.decode((String, String).self) else {
                    throw StorageError(.internal, "no role recorded for plugin '\(space)'")
                }
                do {
                    try await PostgresScript.run(PostgresSchema.isolate(schema: schema, role: user, password: password),
                                                 on: connection, logger: logger)
                } catch {
                    throw StorageError(.unavailable, "cannot give plugin '\(space)' a role of its own (the storage's "
                                       + "PostgreSQL role needs CREATEROLE, and pg_hba.conf must let kn_* roles log in "
                                       + "with a password): \(PostgresErrors.map(error).message)")
                }
                return (user, password)
            }
        }
        let configuration = try settings.clientConfiguration(searchPath: schema, maxConnections: 4, login: login)
        let client = PostgresClient(configuration: configuration, eventLoopGroup: group,
                                    backgroundLogger: PostgresBackend.logger)
        let runner = Task { await client.run() }
        lock.withLock { runners.append(runner) }
        return client
    }

    func shutdown() async {
        let all = lock.withLock { () -> [Task<Void, Never>] in
            defer {
                runners.removeAll()
                clients.removeAll()
            }
            return runners
        }
        for runner in all {
            runner.cancel()
            await runner.value
        }
    }
}

/// A transaction holding one pooled connection until commit or rollback:
/// commands reach the task that leased it through a stream, in order.
final class PostgresTransaction: SQLTransaction {
    private enum Command: Sendable {
        case run(String, [SQLValue], CheckedContinuation<SQLResult, any Error>)
        case finish(commit: Bool, CheckedContinuation<Void, any Error>)
    }

    private let commands: AsyncStream<Command>.Continuation
    private let timeout: Duration

    static func begin(client: PostgresClient, timeout: Duration) async throws -> PostgresTransaction {
        let (stream, commands) = AsyncStream<Command>.makeStream()
        let started = ResumeOnce<Void>()
        let logger = PostgresBackend.logger
        let leasing = Task {
            do {
                try await client.withConnection { connection in
                    _ = try await connection.query("BEGIN", logger: logger).get()
                    started.resume(.success(()))
                    try await Self.serve(stream, on: connection, logger: logger)
                }
            } catch {
                started.resume(.failure(PostgresErrors.map(error)))
            }
            // Whatever is still queued fails: the connection is gone.
            commands.finish()
        }
        do {
            try await withCheckedThrowingContinuation { continuation in
                started.set(continuation)
                let timer = Task {
                    try await Task.sleep(for: timeout)
                    if started.resume(.failure(StorageError.unavailable("PostgreSQL did not answer within \(timeout)"))) {
                        leasing.cancel()
                    }
                }
                started.onResume { timer.cancel() }
            }
        } catch {
            commands.finish()
            throw error
        }
        return PostgresTransaction(commands: commands, timeout: timeout)
    }

    private init(commands: AsyncStream<Command>.Continuation, timeout: Duration) {
        self.commands = commands
        self.timeout = timeout
    }

    private static func serve(_ stream: AsyncStream<Command>, on connection: PostgresConnection, logger: Logger) async throws {
        for await command in stream {
            switch command {
            case .run(let sql, let parameters, let reply):
                do {
                    let result = try await connection.query(
                        PostgresQuery(unsafeSQL: sql, binds: PostgresValues.bindings(parameters)), logger: logger).get()
                    reply.resume(returning: try PostgresValues.result(result))
                } catch {
                    reply.resume(throwing: PostgresErrors.map(error))
                }
            case .finish(let commit, let reply):
                do {
                    _ = try await connection.query(commit ? "COMMIT" : "ROLLBACK", logger: logger).get()
                    reply.resume()
                } catch {
                    reply.resume(throwing: PostgresErrors.map(error))
                }
                return
            }
        }
        // The handle was dropped without commit: roll back before the
        // connection goes back to the pool.
        _ = try? await connection.query("ROLLBACK", logger: logger).get()
    }

    func run(sql: String, parameters: [SQLValue]) async throws -> SQLResult {
        try await withCheckedThrowingContinuation { continuation in
            if case .terminated = commands.yield(.run(sql, parameters, continuation)) {
                continuation.resume(throwing: StorageError.unavailable("the transaction's connection is closed"))
            }
        }
    }

    func commit() async throws {
        try await finish(commit: true)
    }

    func rollback() async {
        try? await finish(commit: false)
    }

    private func finish(commit: Bool) async throws {
        defer { commands.finish() }
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            if case .terminated = commands.yield(.finish(commit: commit, continuation)) {
                continuation.resume(throwing: StorageError.unavailable("the transaction's connection is closed"))
            }
        }
    }
}

/// Applies migrations in a plugin's schema, each once, under a table lock
/// so concurrent instances apply each version once.
enum PostgresMigrator {
    static func apply(_ migrations: [Migration], on connection: PostgresConnection, logger: Logger) async throws -> [Int64] {
        _ = try await connection.query(
            "CREATE TABLE IF NOT EXISTS _kn_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)", logger: logger).get()
        var applied: [Int64] = []
        for migration in migrations {
            _ = try await connection.query("BEGIN", logger: logger).get()
            do {
                _ = try await connection.query("LOCK TABLE _kn_migrations IN EXCLUSIVE MODE", logger: logger).get()
                let done = try await connection.query(
                    "SELECT 1 FROM _kn_migrations WHERE version = \(migration.version)", logger: logger).get()
                if done.rows.isEmpty {
                    for statement in SQLStatements.split(migration.sql) {
                        _ = try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger).get()
                    }
                    _ = try await connection.query(
                        "INSERT INTO _kn_migrations (version, applied_at) VALUES (\(migration.version), \(WallClock.nowMilliseconds()))",
                        logger: logger).get()
                    applied.append(migration.version)
                }
                _ = try await connection.query("COMMIT", logger: logger).get()
            } catch {
                _ = try? await connection.query("ROLLBACK", logger: logger).get()
                throw MigrationPlan.failure(migration.version, PostgresErrors.map(error))
            }
        }
        return applied
    }
}

/// Several statements in one transaction, one at a time.
enum PostgresScript {
    static func run(_ script: String, on connection: PostgresConnection, logger: Logger) async throws {
        _ = try await connection.query("BEGIN", logger: logger).get()
        do {
            for statement in SQLStatements.split(script) {
                _ = try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger).get()
            }
            _ = try await connection.query("COMMIT", logger: logger).get()
        } catch {
            _ = try? await connection.query("ROLLBACK", logger: logger).get()
            throw error
        }
    }
}
