import Dispatch
import Synchronization

/// Group commit: items that arrive while a write runs are written together
/// by the next one, so a burst costs one transaction, not one each. No
/// timer: the first item starts a write at once.
///
/// ```swift
/// let writer = GroupCommit<Row, Int64>(batchLimit: 1_000) { rows in
///     (try? await store.insert(rows)) ?? rows.map { _ in 0 }
/// }
/// writer.add(row) { id in print("stored as", id) }
/// ```
///
/// `write` gets at most `batchLimit` items, in arrival order, and returns
/// one outcome per item, in the same order. Completions run on a global
/// queue, off the write loop: one that adds again (or blocks) never holds
/// up the writes. Any thread.
public final class GroupCommit<Item: Sendable, Outcome: Sendable>: Sendable {
    public typealias Completion = @Sendable (Outcome) -> Void
    private struct State {
        var pending: [(item: Item, done: Completion)] = []
        var writing = false
    }
    private let state = Mutex(State())
    private let batchLimit: Int
    private let write: @Sendable ([Item]) async -> [Outcome]

    public init(batchLimit: Int, write: @escaping @Sendable ([Item]) async -> [Outcome]) {
        self.batchLimit = max(1, batchLimit)
        self.write = write
    }

    public func add(_ item: Item, _ done: @escaping Completion) {
        let startWriting = state.withLock { state -> Bool in
            state.pending.append((item, done))
            if state.writing { return false }
            state.writing = true
            return true
        }
        if startWriting { Task { await drain() } }
    }

    private func drain() async {
        while true {
            let batch = state.withLock { state -> [(item: Item, done: Completion)] in
                let batch = Array(state.pending.prefix(batchLimit))
                state.pending.removeFirst(batch.count)
                if batch.isEmpty { state.writing = false }
                return batch
            }
            guard !batch.isEmpty else { return }
            let outcomes = await write(batch.map(\.item))
            precondition(outcomes.count == batch.count, "GroupCommit: write must return one outcome per item")
            DispatchQueue.global().async { for (entry, outcome) in zip(batch, outcomes) { entry.done(outcome) } }
        }
    }
}
