import KernelSDK
import Synchronization
import TopicPatterns

/// Delivers one subscription: the stored events after its cursor, then the
/// live ones, with none missing or repeated at the seam (the subscriber is
/// in the hub before the log is read; what both hold is sent once, by
/// offset). Used by `pubsub.subscribe` (JSON items) and `pubsub.stream`
/// (Server-Sent Events).
struct SubscriptionLoop {
    let runtime: PubsubRuntime
    let request: SubscriptionRequest
    let viewer: Viewer
    /// Sends one item (a status object, or an event); throws when the stream is gone.
    let send: @Sendable (Item) async throws -> Void

    enum Item {
        case subscribed(gap: Bool, oldest: UInt64, head: UInt64)
        case event(StoredEvent)
        /// Several events in one message: a subscriber that is behind catches up with one write per batch, not per event.
        case events([StoredEvent])
        case gap(dropped: Int)
    }

    /// At most this many events per message.
    static let batchLimit = 256

    func run() async throws {
        let patterns = try request.checkedPatterns()
        let overflow = try request.checkedOverflow(runtime.settings.overflow)
        let box = TaskBox()
        let subscriber = Subscriber(patterns: patterns, viewer: viewer, capacity: runtime.settings.subscriberQueue,
                                    overflow: overflow) { box.cancel() }
        runtime.hub.add(subscriber)
        defer { runtime.hub.remove(subscriber) }
        let work = Task { try await deliver(subscriber) }
        box.set(work)
        do {
            try await withTaskCancellationHandler { try await work.value } onCancel: { work.cancel() }
        } catch {
            if let failure = subscriber.failure {
                runtime.hub.counters.disconnected()
                throw failure
            }
            throw error
        }
    }

    private func deliver(_ subscriber: Subscriber) async throws {
        let store = runtime.store
        let bounds = try await store.bounds()
        var cursor: UInt64
        var gap = false
        var oldest = bounds?.oldest ?? 0
        // Retention works per topic: what it removed from the subscribed topics, not the log's first offset, makes a gap.
        let trimmed = request.since == nil ? nil : try await store.trimmed { topic in subscriber.wants(topic) }
        switch request.since {
        case nil:
            cursor = bounds?.head ?? 0
        case .offset(let offset):
            cursor = min(offset, bounds?.head ?? offset)
            if let trimmed, offset < trimmed.offset {
                gap = true
                oldest = max(oldest, trimmed.offset + 1)
            }
        case .time(let milliseconds):
            cursor = try await store.cursor(at: milliseconds)
            if let trimmed, milliseconds <= trimmed.time {
                gap = true
                oldest = max(oldest, trimmed.offset + 1)
            }
        }
        try await send(.subscribed(gap: gap, oldest: oldest, head: bounds?.head ?? 0))
        // Catch-up, until a read finds the end of the log with no live event lost meanwhile.
        while true {
            let page = try await store.read(after: cursor, limit: 1_000)
            try await sendBatched(page.filter { subscriber.wants($0.topic) && runtime.authorizer.allows($0, to: viewer) })
            if let last = page.last { cursor = last.offset }
            if page.count == 1_000 { continue }
            subscriber.dropQueued(through: cursor)
            if subscriber.goLive() { break }
        }
        while !Task.isCancelled {
            let (events, dropped) = await subscriber.take()
            if let failure = subscriber.failure { throw failure }
            let fresh = events.filter { $0.offset == 0 || $0.offset > cursor }
            if let last = fresh.last(where: { $0.offset != 0 }) { cursor = last.offset }
            try await sendBatched(fresh)
            // The queue was full from the last of these on: what came after it was dropped.
            if dropped > 0 {
                runtime.hub.counters.dropped(dropped)
                try await send(.gap(dropped: dropped))
            }
        }
        throw PluginError(.cancelled, "unsubscribed")
    }
}

extension SubscriptionLoop {
    /// One `event` message, or `events` messages of at most `batchLimit`.
    func sendBatched(_ events: [StoredEvent]) async throws {
        if events.count == 1 { return try await send(.event(events[0])) }
        var start = 0
        while start < events.count {
            let end = min(events.count, start + Self.batchLimit)
            try await send(.events(Array(events[start..<end])))
            start = end
        }
    }
}

/// The delivery task, cancelled from the hub's thread when the subscriber falls behind.
final class TaskBox: Sendable {
    private let state = Mutex<(task: Task<Void, Error>?, cancelled: Bool)>((nil, false))

    func set(_ task: Task<Void, Error>) {
        let cancelNow = state.withLock { state -> Bool in
            state.task = task
            return state.cancelled
        }
        if cancelNow { task.cancel() }
    }

    func cancel() {
        let task = state.withLock { state -> Task<Void, Error>? in
            state.cancelled = true
            return state.task
        }
        task?.cancel()
    }
}
