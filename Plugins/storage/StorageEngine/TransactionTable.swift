import Foundation

/// Open SQL transactions by handle, with their owner and when they were
/// last used. A handle is usable by its owner only, and one left idle past
/// the timeout is taken out to be rolled back (its caller failed mid-way).
final class TransactionTable: @unchecked Sendable {
    private struct Open {
        let owner: String
        let transaction: any SQLTransaction
        var lastUsed: ContinuousClock.Instant
        var inFlight: Int
    }

    private let lock = NSLock()
    private var open: [UInt64: Open] = [:]
    private var nextHandle: UInt64 = 1

    var count: Int { lock.withLock { open.count } }

    func add(owner: String, _ transaction: any SQLTransaction) -> UInt64 {
        lock.withLock {
            let handle = nextHandle
            nextHandle += 1
            open[handle] = Open(owner: owner, transaction: transaction, lastUsed: .now, inFlight: 0)
            return handle
        }
    }

    /// The transaction for one statement; pair with `release`.
    func use(owner: String, handle: UInt64) throws -> any SQLTransaction {
        try lock.withLock {
            guard var entry = open[handle], entry.owner == owner else { throw Self.closed(handle) }
            entry.inFlight += 1
            open[handle] = entry
            return entry.transaction
        }
    }

    func release(handle: UInt64) {
        lock.withLock {
            guard var entry = open[handle] else { return }
            entry.inFlight -= 1
            entry.lastUsed = .now
            open[handle] = entry
        }
    }

    /// Takes the transaction out to end it: no statement can use it after.
    func remove(owner: String, handle: UInt64) throws -> any SQLTransaction {
        try lock.withLock {
            guard let entry = open[handle], entry.owner == owner else { throw Self.closed(handle) }
            open[handle] = nil
            return entry.transaction
        }
    }

    /// Takes out the transactions idle (no statement running) for longer than `timeout`.
    func removeIdle(longerThan timeout: Duration) -> [any SQLTransaction] {
        let now = ContinuousClock.now
        return lock.withLock {
            let idle = open.filter { $0.value.inFlight == 0 && now - $0.value.lastUsed > timeout }
            for handle in idle.keys { open[handle] = nil }
            return idle.values.map(\.transaction)
        }
    }

    func removeAll() -> [any SQLTransaction] {
        lock.withLock {
            defer { open.removeAll() }
            return open.values.map(\.transaction)
        }
    }

    static func closed(_ handle: UInt64) -> StorageError {
        .invalidArgument("transaction \(handle) is closed (committed, rolled back, timed out) or not the caller's")
    }
}
