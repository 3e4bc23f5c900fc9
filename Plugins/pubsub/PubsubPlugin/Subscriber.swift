import KernelSDK
import Synchronization
import TopicPatterns

/// One remote subscription's side of the hub: a bounded queue of the live
/// events it may see, taken by its delivery task. While the subscription
/// still reads the log (catch-up) an overflow only means "read the log
/// again"; once live, it disconnects or drops, as configured.
final class Subscriber: Sendable {
    let patterns: [TopicPattern]
    let viewer: Viewer
    private let capacity: Int
    private let overflow: PubsubSettings.Overflow
    private let onDisconnect: @Sendable () -> Void

    private struct State {
        var queue: [StoredEvent] = []
        var live = false
        /// Live events were lost while catching up: the log has them.
        var reread = false
        var dropped = 0
        var failure: PluginError?
        var waiter: CheckedContinuation<Void, Never>?
    }
    private let state = Mutex(State())

    init(patterns: [TopicPattern], viewer: Viewer, capacity: Int, overflow: PubsubSettings.Overflow,
         onDisconnect: @escaping @Sendable () -> Void) {
        self.patterns = patterns
        self.viewer = viewer
        self.capacity = capacity
        self.overflow = overflow
        self.onDisconnect = onDisconnect
    }

    func wants(_ topic: String) -> Bool { patterns.contains { $0.matches(topic) } }

    /// Hub side: events this subscriber may see, in order. Never blocks.
    func offer(_ events: [StoredEvent]) {
        let (waiter, disconnect) = state.withLock { state -> (CheckedContinuation<Void, Never>?, Bool) in
            guard state.failure == nil else { return (nil, false) }
            // Full means full already: one committed batch (up to the writer's batch) is taken whole by a queue with room.
            if state.queue.count >= capacity {
                if !state.live {
                    // The log has every stored event: read it again. Live-only events (offset 0) it has not: keep them, bounded.
                    state.queue.removeAll { $0.offset != 0 }
                    state.reread = true
                    let live = events.filter { $0.offset == 0 }
                    let room = max(0, capacity - state.queue.count)
                    state.queue.append(contentsOf: live.prefix(room))
                    state.dropped += live.count - min(room, live.count)
                    return (nil, false)
                }
                switch overflow {
                case .drop:
                    let room = max(0, capacity - state.queue.count)
                    state.queue.append(contentsOf: events.prefix(room))
                    state.dropped += events.count - room
                    defer { state.waiter = nil }
                    return (state.waiter, false)
                case .disconnect:
                    state.failure = PluginError(.unavailable, "slow consumer: more than \(capacity) events waited for this subscriber",
                                                details: ["reason": "slow_consumer"])
                    state.queue.removeAll()
                    defer { state.waiter = nil }
                    return (state.waiter, true)
                }
            }
            state.queue.append(contentsOf: events)
            defer { state.waiter = nil }
            return (state.waiter, false)
        }
        waiter?.resume()
        if disconnect { onDisconnect() }
    }

    var failure: PluginError? { state.withLock { $0.failure } }

    /// After catch-up: true when the subscriber is live now; false when
    /// live events were lost meanwhile and the log must be read again.
    func goLive() -> Bool {
        state.withLock { state in
            if state.reread {
                state.reread = false
                return false
            }
            state.live = true
            return true
        }
    }

    /// Waits for queued events (and how many were dropped since the last take).
    func take() async -> (events: [StoredEvent], dropped: Int) {
        while true {
            if let taken = state.withLock({ state in Self.hasNews(state) ? Self.takeAll(&state) : nil }) { return taken }
            if Task.isCancelled { return ([], 0) }
            await withTaskCancellationHandler {
                await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                    let now = state.withLock { state -> Bool in
                        if Self.hasNews(state) || Task.isCancelled { return true }
                        state.waiter = continuation
                        return false
                    }
                    if now { continuation.resume() }
                }
            } onCancel: {
                let waiter = state.withLock { state in
                    defer { state.waiter = nil }
                    return state.waiter
                }
                waiter?.resume()
            }
        }
    }

    private static func hasNews(_ state: State) -> Bool { !state.queue.isEmpty || state.dropped > 0 || state.failure != nil }

    private static func takeAll(_ state: inout State) -> (events: [StoredEvent], dropped: Int) {
        defer {
            state.queue.removeAll(keepingCapacity: true)
            state.dropped = 0
        }
        return (state.queue, state.dropped)
    }

    /// The events queued while catching up that the log read already covered.
    func dropQueued(through offset: UInt64) {
        state.withLock { state in state.queue.removeAll { $0.offset != 0 && $0.offset <= offset } }
    }
}
