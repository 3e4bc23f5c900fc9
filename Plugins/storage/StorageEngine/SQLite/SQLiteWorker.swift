import Foundation

/// A thread that owns one SQLite connection and runs jobs on it in order.
/// SQLite calls block, so they never run on the callers' threads or on the
/// Swift concurrency pool.
final class SQLiteWorker: @unchecked Sendable {
    private let condition = NSCondition()
    private var jobs: [(SQLiteConnection?) -> Void] = []
    private var stopping = false
    private let finished = DispatchSemaphore(value: 0)
    // Touched by the worker thread only.
    private var connection: SQLiteConnection?

    /// Starts the thread and opens the connection on it with `open`.
    init(name: String, open: @escaping @Sendable () throws -> SQLiteConnection) async throws {
        do {
            try await startOwningThread(name: name, open: { [unowned self] in self.connection = try open() },
                                        loop: { [unowned self] in self.loop() })
        } catch {
            stop()
            throw error
        }
    }

    private func loop() {
        while true {
            condition.lock()
            while jobs.isEmpty && !stopping { condition.wait() }
            if jobs.isEmpty && stopping {
                condition.unlock()
                break
            }
            let batch = jobs
            jobs.removeAll(keepingCapacity: true)
            condition.unlock()
            for job in batch { job(connection) }
        }
        connection = nil // closes it on this thread
        finished.signal()
    }

    /// Queues a job; it receives nil when the connection failed to open.
    func submit(_ job: @escaping (SQLiteConnection?) -> Void) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        guard !stopping else { return false }
        jobs.append(job)
        condition.signal()
        return true
    }

    /// Runs `body` on the worker's thread and returns its result.
    func run<T: Sendable>(_ body: @escaping @Sendable (SQLiteConnection) throws -> T) async throws -> T {
        let result: Result<T, StorageError> = await withCheckedContinuation { continuation in
            let accepted = submit { connection in
                guard let connection else {
                    continuation.resume(returning: .failure(.unavailable("database connection is closed")))
                    return
                }
                do {
                    continuation.resume(returning: .success(try body(connection)))
                } catch {
                    continuation.resume(returning: .failure(StorageError.wrap(error)))
                }
            }
            if !accepted { continuation.resume(returning: .failure(.unavailable("storage is shutting down"))) }
        }
        return try result.get()
    }

    /// Runs what is queued, then closes the connection and ends the thread.
    func stop() {
        condition.lock()
        let wasStopping = stopping
        stopping = true
        condition.signal()
        condition.unlock()
        if !wasStopping { finished.wait() }
    }
}

/// A one-shot slot for the outcome of opening a connection on a new thread.
final class OpenResult: @unchecked Sendable {
    private let lock = NSLock()
    private var outcome: StorageError??
    private var waiter: CheckedContinuation<StorageError?, Never>?

    func set(_ error: StorageError?) {
        lock.lock()
        if let waiter {
            self.waiter = nil
            lock.unlock()
            waiter.resume(returning: error)
            return
        }
        outcome = .some(error)
        lock.unlock()
    }

    func wait() async -> StorageError? {
        await withCheckedContinuation { continuation in
            lock.lock()
            if let outcome {
                lock.unlock()
                continuation.resume(returning: outcome)
                return
            }
            waiter = continuation
            lock.unlock()
        }
    }
}

/// Starts a thread named `name` that runs `open`, then `loop` until it
/// returns; waits until `open` has finished and rethrows its error. SQLite
/// connections are used on the thread that opened them, so both worker and
/// writer start this way.
func startOwningThread(
    name: String, open: @escaping @Sendable () throws -> Void, loop: @escaping @Sendable () -> Void
) async throws {
    let opened = OpenResult()
    let thread = Thread {
        do {
            try open()
            opened.set(nil)
        } catch {
            opened.set(StorageError.wrap(error))
        }
        loop()
    }
    thread.name = name
    thread.stackSize = 1 << 20
    thread.start()
    if let error = await opened.wait() { throw error }
}
