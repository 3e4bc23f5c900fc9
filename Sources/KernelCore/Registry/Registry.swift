import CKernelABI
import Synchronization

/// Every registration of every live plugin, and the lookups the hot path needs.
///
/// Writers (the control thread) rebuild the indexes from the per-plugin
/// registrations on every commit; readers (any thread) take the lock only
/// long enough to read one index entry.
final class Registry: Sendable {
    private struct State {
        var byOwner: [ObjectIdentifier: (owner: PluginInstance, registrations: Registrations)] = [:]
        var endpoints: [String: EndpointEntry] = [:]
        var resolved: [String: ResolvedEndpoint] = [:]
        var middleware: [MiddlewareEntry] = []
        var routes: [RouteEntry] = []
        var jobs: [String: JobEntry] = [:]
        var eventHandlers: [EventHandlerEntry] = []
        var services: [String: [ServiceEntry]] = [:]
        var transports: [TransportEntry] = []
        var schedules: [ScheduleEntry] = []
        var errorHandlers: [ErrorHandlerEntry] = []
        /// The handlers of each topic published so far: a publish reads its
        /// list instead of matching every pattern. Emptied on every change.
        var topicHandlers: [String: [EventHandlerEntry]] = [:]
        /// The pubsub service (every plugin publish asks for it).
        var pubsub: ServiceEntry?

        mutating func rebuild(limits: CallLimits?) {
            let all = byOwner.values.map(\.registrations)
            endpoints = Dictionary(all.flatMap(\.endpoints).map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
            middleware = all.flatMap(\.middleware).sorted { ($0.order, $0.sequence) < ($1.order, $1.sequence) }
            routes = all.flatMap(\.routes).sorted { a, b in
                if a.pattern.isMoreSpecific(than: b.pattern) { return true }
                if b.pattern.isMoreSpecific(than: a.pattern) { return false }
                return a.sequence < b.sequence
            }
            jobs = Dictionary(all.flatMap(\.jobs).map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
            eventHandlers = all.flatMap(\.eventHandlers)
            services = Dictionary(grouping: all.flatMap(\.services), by: \.name)
            transports = all.flatMap(\.transports)
            schedules = all.flatMap(\.schedules).sorted { $0.name < $1.name }
            errorHandlers = all.flatMap(\.errorHandlers).sorted { ($0.order, $0.sequence) < ($1.order, $1.sequence) }
            topicHandlers = [:]
            pubsub = services[KN_PUBSUB_SERVICE]?.first { $0.major == UInt32(KN_PUBSUB_MAJOR) }
            resolved = endpoints.mapValues { endpoint in
                ResolvedEndpoint(endpoint: endpoint, chain: middleware.filter { $0.applies(to: endpoint.name) },
                                 policy: limits?.policy(for: endpoint.name, unary: endpoint.kind == UInt32(KN_ENDPOINT_UNARY))
                                    ?? CallLimits.unlimited)
            }
        }
    }

    private let state = Mutex(State())
    /// Called, outside the lock, after a change of the set of schedules.
    /// (A class holds the closure: read back from a Mutex through its inout
    /// access, a bare closure would gain a reabstraction thunk each time.)
    private let schedulesObserver = Mutex<Observer?>(nil)

    private final class Observer: Sendable {
        let body: @Sendable () -> Void
        init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    }

    /// Deadlines and in-flight limits, resolved into each endpoint (none when nil).
    let limits: CallLimits?

    init(limits: CallLimits? = nil) { self.limits = limits }

    /// Sets what runs after every change of the set of schedules.
    func whenSchedulesChange(_ observer: @escaping @Sendable () -> Void) {
        let box = Observer(observer)
        schedulesObserver.withLock { $0 = box }
    }

    private func schedulesChanged() { schedulesObserver.withLock { $0 }?.body() }

    // MARK: Hot path

    /// The endpoint named `name` with its middleware, counted in flight by
    /// every plugin on the way before the lock is let go: a plugin removed
    /// from the registry after this returns still sees the call when it drains.
    func beginEndpoint(_ name: String) -> ResolvedEndpoint? {
        state.withLock { state in
            guard let target = state.resolved[name] else { return nil }
            target.begin()
            return target
        }
    }

    /// The job named `name`, counted in flight like `beginEndpoint`.
    func beginJob(_ name: String) -> ResolvedEndpoint? {
        state.withLock { state in
            guard let job = state.jobs[name] else { return nil }
            job.asEndpoint.begin()
            return job.asEndpoint
        }
    }

    enum RouteMatch {
        case matched(endpoint: String, parameters: [(String, String)])
        case methodNotAllowed(allowed: [String])
        case notFound
    }

    func route(method: String, path: String) -> RouteMatch {
        state.withLock { state in
            var allowed: [String] = []
            for route in state.routes {
                guard let parameters = route.pattern.match(path) else { continue }
                if route.method == method { return .matched(endpoint: route.endpoint, parameters: parameters) }
                allowed.append(route.method)
            }
            return allowed.isEmpty ? .notFound : .methodNotAllowed(allowed: allowed)
        }
    }

    /// The error handlers, each owner counting the call in flight (the
    /// caller ends it after the handler ran).
    func beginErrorHandlers() -> [ErrorHandlerEntry] {
        state.withLock { state in
            for handler in state.errorHandlers { handler.owner.beginCall() }
            return state.errorHandlers
        }
    }

    func job(named name: String) -> JobEntry? {
        state.withLock { $0.jobs[name] }
    }

    /// The handlers of `topic`, each owner counting the delivery in flight
    /// (the caller ends it after delivering).
    func beginEventHandlers(for topic: String) -> [EventHandlerEntry] {
        state.withLock { state in Self.beginHandlers(for: topic, in: &state) }
    }

    /// A plugin's publish, in one look: the pubsub service when one is
    /// registered (nothing begun), else the handlers of `topic`, begun.
    func route(publishing topic: String) -> (pubsub: ServiceEntry?, handlers: [EventHandlerEntry]) {
        state.withLock { state in
            if let pubsub = state.pubsub { return (pubsub, []) }
            return (nil, Self.beginHandlers(for: topic, in: &state))
        }
    }

    private static func beginHandlers(for topic: String, in state: inout State) -> [EventHandlerEntry] {
        let handlers: [EventHandlerEntry]
        if let known = state.topicHandlers[topic] {
            handlers = known
        } else {
            handlers = state.eventHandlers.filter { $0.pattern.matches(topic) }
            // Bounded: a publisher of ever new topics only empties it now and then.
            if state.topicHandlers.count >= 4_096 { state.topicHandlers.removeAll(keepingCapacity: true) }
            state.topicHandlers[topic] = handlers
        }
        for handler in handlers { handler.owner.beginCall() }
        return handlers
    }

    func service(named name: String, major: UInt32, minMinor: UInt32) -> ServiceEntry? {
        state.withLock { state in
            state.services[name]?.first { $0.major == major && $0.minor >= minMinor }
        }
    }

    // MARK: Changes (control thread)

    /// The plugin that owns a registration of this kind and name, if any.
    /// The instance being replaced by `requester` (reload) does not count.
    func conflict(_ kind: NameKind, _ name: String, requester: PluginInstance) -> PluginInstance? {
        state.withLock { state in
            let owner: PluginInstance? = switch kind {
            case .endpoint: state.endpoints[name]?.owner
            case .job: state.jobs[name]?.owner
            case .transport: state.transports.first { $0.name == name }?.owner
            case .route: state.routes.first { $0.key == name }?.owner
            case .service(let major): state.services[name]?.first { $0.major == major }?.owner
            case .schedule: state.schedules.first { $0.name == name }?.owner
            }
            guard let owner, owner !== requester, owner !== requester.replacing else { return nil }
            return owner
        }
    }

    enum NameKind {
        case endpoint, job, transport, route, schedule
        case service(major: UInt32)
    }

    /// Makes `registrations` live for `owner`, removing those of `replacing`
    /// in the same step, so a caller never sees a name missing.
    func commit(_ registrations: Registrations, owner: PluginInstance, replacing: PluginInstance? = nil) {
        let changed = state.withLock { state in
            let before = state.schedules
            if let replacing { state.byOwner[ObjectIdentifier(replacing)] = nil }
            state.byOwner[ObjectIdentifier(owner)] = (owner, registrations)
            state.rebuild(limits: limits)
            return before != state.schedules
        }
        if changed { schedulesChanged() }
    }

    /// Removes everything `owner` registered and returns it.
    @discardableResult
    func remove(owner: PluginInstance) -> Registrations? {
        let (removed, changed) = state.withLock { state in
            let before = state.schedules
            let removed = state.byOwner.removeValue(forKey: ObjectIdentifier(owner))
            state.rebuild(limits: limits)
            return (removed?.registrations, before != state.schedules)
        }
        if changed { schedulesChanged() }
        return removed
    }

    // MARK: Listings

    func registrations(of owner: PluginInstance) -> Registrations? {
        state.withLock { $0.byOwner[ObjectIdentifier(owner)]?.registrations }
    }

    var allEndpoints: [EndpointEntry] {
        state.withLock { Array($0.endpoints.values) }.sorted { $0.name < $1.name }
    }

    var allRoutes: [RouteEntry] { state.withLock { $0.routes } }

    var allMiddleware: [MiddlewareEntry] { state.withLock { $0.middleware } }

    var allTransports: [TransportEntry] { state.withLock { $0.transports } }

    var allErrorHandlers: [ErrorHandlerEntry] { state.withLock { $0.errorHandlers } }

    /// Every schedule of every live plugin, by name.
    var allSchedules: [ScheduleEntry] { state.withLock { $0.schedules } }
}
