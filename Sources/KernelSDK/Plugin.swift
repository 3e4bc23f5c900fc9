/// A plugin written in Swift: a name, a version, and the registrations it
/// makes when the kernel loads it.
///
/// ```swift
/// import KernelSDK
///
/// struct Greeter: Plugin {
///     static let name = "greeter"
///     static let version = "1.0.0"
///
///     func register(with kernel: PluginContext) async throws {
///         kernel.endpoint("greet") { (request: GreetRequest, _) in
///             ["message": "hello, \(request.name)"]
///         }
///     }
/// }
///
/// @_cdecl("kn_plugin_entry")
/// public func entry(_ host: UnsafeRawPointer?) -> UnsafeRawPointer? { export(Greeter.self, host: host) }
/// ```
///
/// Threading: `register`, `start` and `stop` run one at a time, in that
/// order, while the kernel's control thread waits for them; they may await
/// anything (opening a database, running migrations). Handlers run on the
/// caller's thread (a transport's I/O thread): synchronous handlers must
/// not block, `async` ones run as tasks.
public protocol Plugin: Sendable {
    /// Unique plugin name, `[a-z0-9_-]{1,64}`.
    static var name: String { get }
    /// Free text, shown by `kernelctl list`.
    static var version: String { get }
    /// One line shown by `kernelctl info`.
    static var description: String { get }
    /// Plugins that must be loaded before this one (and stay loaded while it runs).
    static var dependsOn: [String] { get }
    init()
    /// Registers endpoints, routes, middleware, jobs, event handlers and
    /// services. They go live together when it returns; throwing refuses
    /// the plugin, and the error's text is the reason `kernelctl list` shows.
    func register(with kernel: PluginContext) async throws
    /// Starts background work once the registrations are live (listening,
    /// timers). Throwing withdraws the registrations and then runs `stop`.
    func start(_ kernel: PluginContext) async throws
    /// Stops background work. Calls in flight have drained (or the drain
    /// timed out) before it runs.
    func stop(_ kernel: PluginContext) async
}

extension Plugin {
    public static var description: String { "" }
    public static var dependsOn: [String] { [] }
    public func start(_ kernel: PluginContext) async throws {}
    public func stop(_ kernel: PluginContext) async {}
}

/// The body of a plugin's `kn_plugin_entry`: keeps the host table and
/// returns the plugin's descriptor (an opaque pointer for the kernel).
///
/// ```swift
/// @_cdecl("kn_plugin_entry")
/// public func entry(_ host: UnsafeRawPointer?) -> UnsafeRawPointer? { export(Greeter.self, host: host) }
/// ```
public func export<P: Plugin>(_ plugin: P.Type, host: UnsafeRawPointer?) -> UnsafeRawPointer? {
    guard let host else { return nil }
    return PluginRuntime.install(P.self, host: host)
}
