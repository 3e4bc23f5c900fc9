import Synchronization

/// One iteration of an `EventSubscription`: owns its connection, reads it
/// as the caller asks for items (so a slow caller slows the socket, not
/// memory), and resumes after a lost connection from the last offset it
/// yielded.
///
/// Thread-safe: `next` from one task at a time; `stop` from any thread.
final class SubscriptionDriver: Sendable {
    private let plan: SubscriptionPlan
    private let registry: SubscriptionRegistry

    private struct State {
        var connection: SubscriptionConnection?
        var lastOffset: UInt64?
        /// Attempts since the last subscription the server confirmed: the backoff.
        var failures = 0
        var connectedOnce = false
        var finished = false
        var stopped: KernelClientError?
        /// The rest of an `events` message, yielded before the connection is read again.
        var buffered: [SubscriptionItem] = []
    }

    private let state = Mutex(State())

    /// The first reconnect waits this long, each next one twice as long, up to `maximumBackoff`.
    static let initialBackoff: Duration = .milliseconds(50)
    static let maximumBackoff: Duration = .seconds(2)

    init(_ plan: SubscriptionPlan, registry: SubscriptionRegistry) {
        self.plan = plan
        self.registry = registry
        if !registry.add(self) { state.withLock { $0.stopped = .closed("the client was closed") } }
    }

    deinit {
        registry.remove(self)
        // The caller stopped iterating: tell the server instead of just leaving.
        state.withLock { $0.connection }?.unsubscribe()
    }

    /// Ends the iteration with `error` (the client was closed).
    func stop(_ error: KernelClientError) {
        let connection = state.withLock { state -> SubscriptionConnection? in
            guard !state.finished, state.stopped == nil else { return nil }
            state.stopped = error
            defer { state.connection = nil }
            return state.connection
        }
        connection?.close()
    }

    func next() async throws -> SubscriptionItem? {
        while true {
            if let item = state.withLock({ $0.buffered.isEmpty ? nil : $0.buffered.removeFirst() }) { return item }
            let (connection, stopped, finished) = state.withLock { ($0.connection, $0.stopped, $0.finished) }
            if finished { return nil }
            if let stopped {
                end(closing: nil)
                throw stopped
            }
            if Task.isCancelled {
                end(unsubscribing: connection)
                return nil
            }
            guard let connection else {
                try await reconnect()
                continue
            }
            switch await connection.inbox.next() {
            case .cancelled:
                end(unsubscribing: connection)
                return nil
            case .closed:
                lose(connection)
            case .frame(let frame):
                let message: SubscriptionMessage
                do {
                    message = try SubscriptionMessage.parse(frame)
                } catch {
                    end(closing: connection)
                    throw error
                }
                if let item = try handle(message, from: connection) { return item }
            }
        }
    }

    /// What `message` means for the caller: an item to yield, nil to read on.
    private func handle(_ message: SubscriptionMessage, from connection: SubscriptionConnection) throws -> SubscriptionItem? {
        switch message {
        case .subscribed(let gap, let oldest):
            state.withLock { $0.failures = 0 }
            // Retention removed events after `since`; the log may have holes, so how many is unknown.
            return gap ? .gap(SubscriptionGap(oldest: oldest, dropped: nil)) : nil
        case .event(let event):
            return isFresh(event) ? .event(event) : nil
        case .events(let events):
            let fresh = events.filter(isFresh).map(SubscriptionItem.event)
            guard let first = fresh.first else { return nil }
            state.withLock { $0.buffered.append(contentsOf: fresh.dropFirst()) }
            return first
        case .gap(let gap):
            return .gap(gap)
        case .end, .unsubscribed:
            end(closing: connection)
            return nil
        case .failed(let error) where Self.resumes(error.code):
            lose(connection)
            connection.close()
            return nil
        case .failed(let error):
            end(closing: connection)
            throw error
        case .ignored:
            return nil
        }
    }

    /// Whether `event` is new to the caller (and then the resume point).
    private func isFresh(_ event: KernelEvent) -> Bool {
        state.withLock { state -> Bool in
            // Offset 0: a topic the log does not keep, live only; it can neither repeat nor resume.
            guard event.offset > 0 else { return true }
            // A resumed subscription may repeat the last event: it was yielded already.
            if let last = state.lastOffset, event.offset <= last { return false }
            state.lastOffset = event.offset
            return true
        }
    }

    /// `unavailable`: the transport restarts, or the reader fell behind;
    /// `cancelled` without our asking: the server's side went away. Both
    /// pass; any other failure is the answer.
    private static func resumes(_ code: String?) -> Bool { code == "unavailable" || code == "cancelled" }

    // MARK: Connections

    /// Opens the next connection, after the backoff when the last one failed.
    /// Throws when the very first one cannot be opened: nothing to resume yet.
    private func reconnect() async throws {
        let (failures, since) = state.withLock { state in
            (state.failures, state.lastOffset.map { SubscriptionStart.offset($0) } ?? plan.start)
        }
        if failures > 0 {
            do {
                try await Task.sleep(for: Self.backoff(afterFailures: failures))
            } catch {
                return // cancelled: the loop notices
            }
        }
        let connection: SubscriptionConnection
        do {
            connection = try await SubscriptionConnection.open(plan, since: since)
        } catch {
            let first = state.withLock { state -> Bool in
                state.failures += 1
                if !state.connectedOnce { state.finished = true }
                return !state.connectedOnce
            }
            if first { throw error }
            return
        }
        let installed = state.withLock { state -> Bool in
            guard !state.finished, state.stopped == nil else { return false }
            state.connection = connection
            state.connectedOnce = true
            return true
        }
        if !installed { connection.close() }
    }

    static func backoff(afterFailures failures: Int) -> Duration {
        let doublings = min(max(failures - 1, 0), 16)
        return min(initialBackoff * (1 << doublings), maximumBackoff)
    }

    /// The connection is gone (or failed with a passing error): the next round opens another.
    private func lose(_ connection: SubscriptionConnection) {
        state.withLock { state in
            guard state.connection === connection else { return }
            state.connection = nil
            state.failures += 1
        }
    }

    private func end(closing connection: SubscriptionConnection?) {
        state.withLock { state in
            state.finished = true
            state.connection = nil
        }
        connection?.close()
    }

    private func end(unsubscribing connection: SubscriptionConnection?) {
        state.withLock { state in
            state.finished = true
            state.connection = nil
        }
        connection?.unsubscribe()
    }
}

/// The subscriptions of one client, so that `close()` ends them.
/// Thread-safe.
final class SubscriptionRegistry: Sendable {
    private struct Entry: Sendable {
        weak var driver: SubscriptionDriver?
    }

    private let state = Mutex<(closed: Bool, drivers: [ObjectIdentifier: Entry])>((false, [:]))

    /// False once the client is closed.
    func add(_ driver: SubscriptionDriver) -> Bool {
        state.withLock { state in
            guard !state.closed else { return false }
            state.drivers[ObjectIdentifier(driver)] = Entry(driver: driver)
            return true
        }
    }

    func remove(_ driver: SubscriptionDriver) {
        _ = state.withLock { $0.drivers.removeValue(forKey: ObjectIdentifier(driver)) }
    }

    func closeAll() {
        let drivers = state.withLock { state -> [SubscriptionDriver] in
            state.closed = true
            defer { state.drivers = [:] }
            return state.drivers.values.compactMap(\.driver)
        }
        for driver in drivers { driver.stop(.closed("the client was closed")) }
    }
}
