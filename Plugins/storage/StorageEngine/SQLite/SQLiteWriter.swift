import Foundation

/// The single writer of the key-value and log tables, with group commit:
/// the writes queued while one transaction commits go together into the
/// next one, so one fsync acknowledges many writes. Each write runs in a
/// savepoint, so one failing write does not fail the others.
final class SQLiteWriter: @unchecked Sendable {
    /// What a write sees: the connection and the version clock.
    final class Session {
        let connection: SQLiteConnection
        /// The last version handed out; read and persisted with each batch
        /// so versions are never reused, across crashes and reloads.
        private(set) var lastVersion: Int64
        fileprivate var versionDirty = false

        /// Reloads the clock inside the batch's write lock: another
        /// connection (a reloading storage plugin's) may have advanced it.
        fileprivate func reloadVersion() throws {
            let clock = try connection.cached("SELECT value FROM kn_meta WHERE key = 'kv_version'")
            if try clock.step() { lastVersion = clock.int64(0) }
            clock.reset()
        }

        init(connection: SQLiteConnection, lastVersion: Int64) {
            self.connection = connection
            self.lastVersion = lastVersion
        }

        func nextVersion() -> Int64 {
            lastVersion += 1
            versionDirty = true
            return lastVersion
        }
    }

    private struct Job {
        let body: (Session) throws -> Void
        let finish: (StorageError?) -> Void
    }

    private let condition = NSCondition()
    private var queue: [Job] = []
    private var stopping = false
    private let finished = DispatchSemaphore(value: 0)
    private let maxBatch = 512
    private var session: Session?

    init(name: String, open: @escaping @Sendable () throws -> Session) async throws {
        do {
            try await startOwningThread(name: name, open: { [unowned self] in self.session = try open() },
                                        loop: { [unowned self] in self.loop() })
        } catch {
            stop()
            throw error
        }
    }

    /// Runs `body` inside the next batch; returns once the batch is committed.
    func write<T: Sendable>(_ body: @escaping @Sendable (Session) throws -> T) async throws -> T {
        let result: Result<T, StorageError> = await withCheckedContinuation { continuation in
            let slot = Slot<T>()
            let job = Job(
                body: { session in slot.value = try body(session) },
                finish: { error in
                    if let error { continuation.resume(returning: .failure(error)) }
                    else { continuation.resume(returning: .success(slot.value!)) }
                })
            condition.lock()
            if stopping {
                condition.unlock()
                continuation.resume(returning: .failure(.unavailable("storage is shutting down")))
                return
            }
            queue.append(job)
            condition.signal()
            condition.unlock()
        }
        return try result.get()
    }

    private func loop() {
        while true {
            condition.lock()
            while queue.isEmpty && !stopping { condition.wait() }
            if queue.isEmpty && stopping {
                condition.unlock()
                break
            }
            let batch = Array(queue.prefix(maxBatch))
            queue.removeFirst(batch.count)
            condition.unlock()
            commit(batch)
        }
        session = nil
        finished.signal()
    }

    private func commit(_ batch: [Job]) {
        guard let session else {
            for job in batch { job.finish(.unavailable("database connection is closed")) }
            return
        }
        let connection = session.connection
        var outcomes: [StorageError?] = []
        outcomes.reserveCapacity(batch.count)
        do {
            try connection.execute("BEGIN IMMEDIATE")
            try session.reloadVersion()
            for job in batch {
                try connection.execute("SAVEPOINT write")
                do {
                    try job.body(session)
                    try connection.execute("RELEASE write")
                    outcomes.append(nil)
                } catch {
                    try connection.execute("ROLLBACK TO write; RELEASE write")
                    outcomes.append(StorageError.wrap(error))
                }
            }
            if session.versionDirty {
                let update = try connection.cached("UPDATE kn_meta SET value = $1 WHERE key = 'kv_version'")
                update.bind(session.lastVersion, at: 1)
                try update.run()
                session.versionDirty = false
            }
            try connection.execute("COMMIT")
        } catch {
            // Nothing of the batch is durable: every write fails.
            if connection.isInTransaction { try? connection.execute("ROLLBACK") }
            let failure = StorageError.wrap(error)
            for job in batch { job.finish(failure) }
            return
        }
        for (job, outcome) in zip(batch, outcomes) { job.finish(outcome) }
    }

    func stop() {
        condition.lock()
        let wasStopping = stopping
        stopping = true
        condition.signal()
        condition.unlock()
        if !wasStopping { finished.wait() }
    }
}

/// Where a write leaves its result for the completion, on the same thread.
final class Slot<T>: @unchecked Sendable {
    var value: T?
}
