import TopicPatterns
import CKernelABI

/// The other registrations as the kernel keeps them, each owned by the
/// plugin instance that made them (endpoints: EndpointEntry.swift).

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

/// A handler of failed calls (ABI 1.4).
final class ErrorHandlerEntry: @unchecked Sendable {
    let name: String
    let order: Int32
    let function: kn_error_fn
    let userData: UnsafeMutableRawPointer?
    let release: kn_release_fn?
    let owner: PluginInstance
    let sequence: UInt64

    init(name: String, order: Int32, function: kn_error_fn, userData: UnsafeMutableRawPointer?, release: kn_release_fn?,
         owner: PluginInstance, sequence: UInt64) {
        self.name = name
        self.order = order
        self.function = function
        self.userData = userData
        self.release = release
        self.owner = owner
        self.sequence = sequence
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

    init(name: String, handler: kn_handler_fn, onCancel: kn_cancel_fn?, userData: UnsafeMutableRawPointer?,
         release: kn_release_fn?, maxAttempts: UInt32, owner: PluginInstance) {
        self.asEndpoint = ResolvedEndpoint(endpoint: EndpointEntry(
            name: name, kind: UInt32(KN_ENDPOINT_UNARY), handler: handler, onItem: nil, onCancel: onCancel,
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
