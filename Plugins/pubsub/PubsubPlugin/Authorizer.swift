import CKernelABI
import Synchronization
import TopicPatterns

/// The default rule (Viewer) and what plugins add through the service:
/// filters, which narrow what a subscriber sees, and publish rules. Any
/// thread.
final class Authorizer: Sendable {
    struct Filter: @unchecked Sendable {
        let owner: String
        let pattern: TopicPattern
        let allow: kn_event_filter_fn
        let userData: UnsafeMutableRawPointer?
    }
    struct PublishRule: @unchecked Sendable {
        let owner: String
        let pattern: TopicPattern
        let allow: kn_publish_rule_fn
        let userData: UnsafeMutableRawPointer?
    }
    private struct State {
        var filters: [UInt64: Filter] = [:]
        var rules: [UInt64: PublishRule] = [:]
    }
    private let state = Mutex(State())
    /// Read without the lock on every delivery and publish: most kernels have no filter or rule.
    private let filterCount = Atomic<Int>(0)
    private let ruleCount = Atomic<Int>(0)
    let adminRoles: Set<String>

    init(adminRoles: Set<String>) { self.adminRoles = adminRoles }

    func add(_ filter: Filter, handle: UInt64) {
        state.withLock { $0.filters[handle] = filter }
        filterCount.add(1, ordering: .relaxed)
    }
    func add(_ rule: PublishRule, handle: UInt64) {
        state.withLock { $0.rules[handle] = rule }
        ruleCount.add(1, ordering: .relaxed)
    }

    /// Removes a filter or rule; false when `handle` is neither.
    func remove(_ handle: UInt64, owner: String) -> Bool {
        state.withLock { state in
            if state.filters[handle]?.owner == owner {
                state.filters[handle] = nil
                filterCount.subtract(1, ordering: .relaxed)
                return true
            }
            if state.rules[handle]?.owner == owner {
                state.rules[handle] = nil
                ruleCount.subtract(1, ordering: .relaxed)
                return true
            }
            return false
        }
    }

    /// Drops everything `owner` added (it was unloaded).
    func removeAll(of owner: String) {
        state.withLock { state in
            let before = state.filters.count
            state.filters = state.filters.filter { $0.value.owner != owner }
            filterCount.subtract(before - state.filters.count, ordering: .relaxed)
            let rules = state.rules.count
            state.rules = state.rules.filter { $0.value.owner != owner }
            ruleCount.subtract(rules - state.rules.count, ordering: .relaxed)
        }
    }

    func allows(_ event: StoredEvent, to viewer: Viewer) -> Bool {
        guard viewer.mayRead(event, adminRoles: adminRoles) else { return false }
        return filtersAllow(event, viewer)
    }

    /// A durable consumer is a plugin, trusted with every tenant's events:
    /// only the filters narrow what it gets (kn_subscriber.protocol "consumer").
    func allowsConsumer(_ event: StoredEvent) -> Bool { filtersAllow(event, Self.consumer) }

    private static let consumer = Viewer(user: nil, tenant: nil, roles: nil, protocolName: "consumer")

    private func filtersAllow(_ event: StoredEvent, _ viewer: Viewer) -> Bool {
        guard filterCount.load(ordering: .relaxed) > 0 else { return true }
        let filters = state.withLock { Array($0.filters.values) }.filter { $0.pattern.matches(event.topic) }
        guard !filters.isEmpty else { return true }
        return event.withEvent { event in
            viewer.withSubscriber { subscriber in
                filters.allSatisfy { $0.allow($0.userData, event, subscriber) }
            }
        }
    }

    /// Whether every publish rule matching `event.topic` allows it.
    func mayPublish(_ event: UnsafePointer<kn_event>, topic: String, publisher: String) -> Bool {
        guard ruleCount.load(ordering: .relaxed) > 0 else { return true }
        let rules = state.withLock { Array($0.rules.values) }.filter { $0.pattern.matches(topic) }
        guard !rules.isEmpty else { return true }
        return withUnsafePointer(to: event.pointee.context) { context in
            rules.allSatisfy { $0.allow($0.userData, event.pointee.topic, context, publisher) }
        }
    }
}
