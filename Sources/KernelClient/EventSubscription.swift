/// The events of the topics matching some patterns, live, from the pubsub
/// plugin's log: an `AsyncSequence` of `.event`s in offset order, and a
/// `.gap` where events were lost. Made by `KernelClient.subscribe(to:)`.
///
/// ```swift
/// let client = try await KernelClient.connect(.ws(host: "127.0.0.1", port: 8082))
/// let orders = client.subscribe(to: ["orders.*"], since: .offset(lastSeen))
/// for try await item in orders {
///     switch item {
///     case .event(let event):
///         print(event.offset, event.topic, event.payload.text)
///         lastSeen = event.offset
///     case .gap(let gap):
///         print("missed \(gap.dropped.map(String.init) ?? "some") events")
///     }
/// }
/// ```
///
/// - Each iteration is a subscription of its own, on a connection of its
///   own (over ws and tcp the envelope `subscribe`, Protocols/ws-envelope.md
///   section 10; over http `GET /events/stream`, Server-Sent Events). It
///   starts when iteration starts.
/// - A lost connection is not an end: the iteration reconnects (50 ms,
///   doubling up to 2 s between attempts) and subscribes again after the
///   last offset it yielded, so the caller sees no event twice and none
///   missing (the log permitting: else a `.gap`). An `unavailable` or
///   `cancelled` answer (a transport restarting, a reader that fell behind
///   with overflow `.disconnect`) resumes the same way.
/// - It throws `KernelClientError.call` for any other failure (`not_found`:
///   no pubsub plugin; `invalid_argument`: a bad pattern or `since`;
///   `unauthorized`…), `.closed` if the first connection cannot be opened
///   or the client is closed, and ends (nil) when the server ends the
///   subscription.
/// - Leaving the loop (`break`, an error thrown in it) or cancelling its
///   task sends `unsubscribe` and closes the connection.
/// - The connection reads only as fast as the caller takes items, so a
///   slow caller holds the server back (its overflow rule applies) instead
///   of filling memory.
///
/// Threading: a value; iterate each iterator from one task at a time. Any
/// number of tasks may iterate the same subscription, each with its own.
public struct EventSubscription: AsyncSequence, Sendable {
    public typealias Element = SubscriptionItem
    public typealias Failure = any Error

    let plan: SubscriptionPlan
    let registry: SubscriptionRegistry

    public func makeAsyncIterator() -> Iterator { Iterator(driver: SubscriptionDriver(plan, registry: registry)) }

    /// One subscription in progress; dropping it unsubscribes. Call `next`
    /// from one task at a time.
    public struct Iterator: AsyncIteratorProtocol {
        public typealias Element = SubscriptionItem
        public typealias Failure = any Error

        let driver: SubscriptionDriver

        public mutating func next() async throws -> SubscriptionItem? { try await driver.next() }

        public mutating func next(isolation actor: isolated (any Actor)?) async throws -> SubscriptionItem? {
            try await driver.next()
        }
    }
}
