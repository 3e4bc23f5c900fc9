import Dispatch
import KernelSDK
import Synchronization

/// Group commit: enqueues that arrive while a write runs are stored
/// together by the next one, so a burst costs one transaction, not one each.
/// No timer: the first enqueue starts a write at once.
final class Inserter: Sendable {
    typealias Completion = @Sendable (InsertResult) -> Void
    private struct State {
        var pending: [(job: NewJob, done: Completion)] = []
        var writing = false
    }
    private let store: JobStore
    private let state = Mutex(State())
    /// At most this many jobs per transaction.
    private let batchLimit = 5_000

    init(store: JobStore) { self.store = store }

    func add(_ job: NewJob, _ done: @escaping Completion) {
        let startWriting = state.withLock { state -> Bool in
            state.pending.append((job, done))
            if state.writing { return false }
            state.writing = true
            return true
        }
        if startWriting { Task { await write() } }
    }

    private func write() async {
        while true {
            let batch = state.withLock { state -> [(job: NewJob, done: Completion)] in
                let batch = Array(state.pending.prefix(batchLimit))
                state.pending.removeFirst(batch.count)
                if batch.isEmpty { state.writing = false }
                return batch
            }
            guard !batch.isEmpty else { return }
            // Completions run off this loop: one that enqueues again (or blocks) never holds up the writes.
            do {
                let results = try await store.insert(batch.map(\.job))
                DispatchQueue.global().async { for (entry, result) in zip(batch, results) { entry.done(result) } }
            } catch {
                let failure = PluginError(error)
                DispatchQueue.global().async { for entry in batch { entry.done(.failed(failure)) } }
            }
        }
    }
}
