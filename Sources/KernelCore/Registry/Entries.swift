import CKernelABI

/// Registrations as the kernel keeps them: copied out of the plugin's
/// definition structs, each owned by the plugin instance that made it.
///
/// Entries are immutable and shared by reference: a call in flight keeps the
/// entry it resolved even after the registry has moved on (reload).

final class EndpointEntry: @unchecked Sendable {
    let name: String
    /// The name as a C string, for `call_endpoint`.
    let nameBuffer: OwnedBuffer
    let kind: UInt32
    let handler: kn_handler_fn
    let onItem: kn_item_fn?
    let onCancel: kn_cancel_fn?
    /// ABI 1.1: the consumer has room again after a refused send.
    let onReady: kn_ready_fn?
    let userData: UnsafeMutableRawPointer?
    let release: kn_release_fn?
    let summary: String
    let owner: PluginInstance

    init(name: String, kind: UInt32, handler: kn_handler_fn, onItem: kn_item_fn?, onCancel: kn_cancel_fn?, onReady: kn_ready_fn? = nil,
         userData: UnsafeMutableRawPointer?, release: kn_release_fn?, summary: String, owner: PluginInstance) {
        self.name = name
        self.nameBuffer = OwnedBuffer(name)
        self.kind = kind
        self.handler = handler
        self.onItem = onItem
        self.onCancel = onCancel
        self.onReady = onReady
        self.userData = userData
        self.release = release
        self.summary = summary
        self.owner = owner
    }

    var kindName: String {
        switch kind {
        case UInt32(KN_ENDPOINT_SERVER_STREAM): "server_stream"
        case UInt32(KN_ENDPOINT_BIDI_STREAM): "bidi_stream"
        default: "unary"
        }
    }
}

/// An endpoint with the middleware that wraps it: what a call resolves to,
/// built once per registry change so a call takes one reference.
///
/// The hot path reads `steps` and `holders`, which hold no references:
/// walking them costs no retain or release. The entries they point into are
/// kept alive by `endpoint` and `chain`, and plugin instances are never freed.
final class ResolvedEndpoint: @unchecked Sendable {
    struct Step {
        let function: kn_middleware_fn
        let userData: UnsafeMutableRawPointer?
    }

    let endpoint: EndpointEntry
    let chain: [MiddlewareEntry]
    let steps: ContiguousArray<Step>
    let handler: kn_handler_fn
    let handlerUserData: UnsafeMutableRawPointer?
    /// Each plugin the call passes through, once: they count it in flight.
    let holders: ContiguousArray<Unmanaged<PluginInstance>>

    init(endpoint: EndpointEntry, chain: [MiddlewareEntry]) {
        self.endpoint = endpoint
        self.chain = chain
        steps = ContiguousArray(chain.map { Step(function: $0.function, userData: $0.userData) })
        handler = endpoint.handler
        handlerUserData = endpoint.userData
        var holders: ContiguousArray<Unmanaged<PluginInstance>> = [Unmanaged.passUnretained(endpoint.owner)]
        for middleware in chain where !holders.contains(where: { $0.toOpaque() == Unmanaged.passUnretained(middleware.owner).toOpaque() }) {
            holders.append(Unmanaged.passUnretained(middleware.owner))
        }
        self.holders = holders
    }

    func begin() { for holder in holders { holder._withUnsafeGuaranteedRef { $0.beginCall() } } }
    func end() { for holder in holders { holder._withUnsafeGuaranteedRef { $0.endCall() } } }
}

final class MiddlewareEntry: @unchecked Sendable {
    let name: String
    let order: Int32
    let pattern: String
    let function: kn_middleware_fn
    let userData: UnsafeMutableRawPointer?
    let release: kn_release_fn?
    let owner: PluginInstance
    /// Registration sequence, the tie-breaker for equal `order`.
    let sequence: UInt64

    init(name: String, order: Int32, pattern: String, function: kn_middleware_fn, userData: UnsafeMutableRawPointer?,
         release: kn_release_fn?, owner: PluginInstance, sequence: UInt64) {
        self.name = name
        self.order = order
        self.pattern = pattern
        self.function = function
        self.userData = userData
        self.release = release
        self.owner = owner
        self.sequence = sequence
    }

    /// "*" matches every endpoint, "users.*" a prefix, anything else one name.
    func applies(to endpoint: String) -> Bool {
        if pattern == "*" { return true }
        if pattern.hasSuffix("*") { return endpoint.hasPrefix(pattern.dropLast()) }
        return endpoint == pattern
    }
}

struct RouteEntry: Sendable {
    let method: String
    let pattern: RoutePattern
    let endpoint: String
    let owner: PluginInstance
    /// Registration order, the tie-breaker between equally specific routes.
    let sequence: UInt64

    /// What two routes may not share: method and shape.
    var key: String { "\(method) \(pattern.shape)" }
}

struct TransportEntry: Sendable {
    let name: String
    let summary: String
    let owner: PluginInstance
}

final class JobEntry: @unchecked Sendable {
    let name: String
    let handler: kn_handler_fn
    let userData: UnsafeMutableRawPointer?
    let release: kn_release_fn?
    let maxAttempts: UInt32
    let owner: PluginInstance
    /// A job runs like an endpoint without middleware.
    let asEndpoint: ResolvedEndpoint

    init(name: String, handler: kn_handler_fn, userData: UnsafeMutableRawPointer?, release: kn_release_fn?,
         maxAttempts: UInt32, owner: PluginInstance) {
        self.asEndpoint = ResolvedEndpoint(endpoint: EndpointEntry(
            name: name, kind: UInt32(KN_ENDPOINT_UNARY), handler: handler, onItem: nil, onCancel: nil,
            userData: userData, release: nil, summary: "job", owner: owner), chain: [])
        self.name = name
        self.handler = handler
        self.userData = userData
        self.release = release
        self.maxAttempts = maxAttempts == 0 ? 3 : maxAttempts
        self.owner = owner
    }
}

final class EventHandlerEntry: @unchecked Sendable {
    let pattern: TopicPattern
    let function: kn_event_fn
    let userData: UnsafeMutableRawPointer?
    let release: kn_release_fn?
    let owner: PluginInstance

    init(pattern: TopicPattern, function: kn_event_fn, userData: UnsafeMutableRawPointer?, release: kn_release_fn?,
         owner: PluginInstance) {
        self.pattern = pattern
        self.function = function
        self.userData = userData
        self.release = release
        self.owner = owner
    }
}

struct ServiceEntry: @unchecked Sendable {
    let name: String
    let major: UInt32
    let minor: UInt32
    let table: UnsafeRawPointer
    let owner: PluginInstance
}

/// Everything one plugin instance registered.
struct Registrations: Sendable {
    var endpoints: [EndpointEntry] = []
    var routes: [RouteEntry] = []
    var middleware: [MiddlewareEntry] = []
    var transports: [TransportEntry] = []
    var jobs: [JobEntry] = []
    var eventHandlers: [EventHandlerEntry] = []
    var services: [ServiceEntry] = []

    /// Runs every release hook, once, after the last call has drained.
    func releaseUserData() {
        for entry in endpoints { entry.release?(entry.userData) }
        for entry in middleware { entry.release?(entry.userData) }
        for entry in jobs { entry.release?(entry.userData) }
        for entry in eventHandlers { entry.release?(entry.userData) }
    }
}
