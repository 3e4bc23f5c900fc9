import Synchronization

/// Who is listening now: remote subscribers, long polls and durable
/// consumers. Each committed batch is handed out in commit order, so every
/// subscriber sees the log's order.
final class Hub: Sendable {
    private struct State {
        /// Arrays, not dictionaries: every publish reads them, and reading an array under the lock copies nothing.
        var subscribers: [Subscriber] = []
        var waiters: [(token: ObjectIdentifier, wake: @Sendable () -> Void)] = []
    }
    private let state = Mutex(State())
    private let authorizer: Authorizer
    let counters = Counters()

    init(authorizer: Authorizer) { self.authorizer = authorizer }

    func add(_ subscriber: Subscriber) { state.withLock { $0.subscribers.append(subscriber) } }
    func remove(_ subscriber: Subscriber) { state.withLock { $0.subscribers.removeAll { $0 === subscriber } } }

    /// `wake` runs once per batch published until the token is removed (long polls, consumers).
    func addWaiter(_ token: AnyObject, _ wake: @escaping @Sendable () -> Void) {
        state.withLock { $0.waiters.append((ObjectIdentifier(token), wake)) }
    }
    func removeWaiter(_ token: AnyObject) { state.withLock { $0.waiters.removeAll { $0.token == ObjectIdentifier(token) } } }

    var subscriberCount: Int { state.withLock { $0.subscribers.count } }

    /// Nobody listens: a batch need not even be encoded.
    var isIdle: Bool { state.withLock { $0.subscribers.isEmpty && $0.waiters.isEmpty } }

    /// Hands a batch to every subscriber that wants and may see each event.
    func publish(_ events: [StoredEvent]) {
        let (subscribers, waiters) = state.withLock { ($0.subscribers, $0.waiters) }
        var delivered = 0
        for subscriber in subscribers {
            let sees = { (event: StoredEvent) in subscriber.wants(event.topic) && self.authorizer.allows(event, to: subscriber.viewer) }
            // Most often every event of the batch goes: hand over the same array, no copy.
            let visible = events.allSatisfy(sees) ? events : events.filter(sees)
            guard !visible.isEmpty else { continue }
            subscriber.offer(visible)
            delivered += visible.count
        }
        counters.add(published: events.count, delivered: delivered)
        for waiter in waiters { waiter.wake() }
    }
}

/// What `kernelctl events stats` shows.
final class Counters: Sendable {
    private struct Values { var published = 0, delivered = 0, dropped = 0, disconnected = 0 }
    private let values = Mutex(Values())

    func add(published: Int, delivered: Int) {
        values.withLock {
            $0.published += published
            $0.delivered += delivered
        }
    }
    func disconnected() { values.withLock { $0.disconnected += 1 } }
    func dropped(_ count: Int) { values.withLock { $0.dropped += count } }

    var snapshot: [String: Int] {
        values.withLock { ["published": $0.published, "delivered": $0.delivered, "dropped": $0.dropped,
                           "disconnected": $0.disconnected] }
    }
}
