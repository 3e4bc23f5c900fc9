@_exported import CKernelABI

/// A plugin written in Swift.
///
/// ```swift
/// struct Hello: Plugin {
///     static let name = "hello"
///     static let version = "1.0.0"
///     init() {}
///     func register(with kernel: PluginContext) throws {
///         kernel.endpoint("hello") { (_: Empty, _) in ["message": "hello"] }
///     }
/// }
/// @_cdecl("kn_plugin_entry")
/// public func entry(_ host: UnsafeRawPointer?) -> UnsafeRawPointer? { export(Hello.self, host: host) }
/// ```
///
/// Threading: `register`, `start` and `stop` run on the kernel's control
/// thread, one at a time. Handlers run on the caller's thread (a transport's
/// I/O thread); synchronous handlers must not block, async ones run as tasks.
public protocol Plugin: Sendable {
    /// Unique plugin name, `[a-z0-9_-]{1,64}`.
    static var name: String { get }
    static var version: String { get }
    /// One line shown by `kernelctl info`.
    static var description: String { get }
    /// Plugins that must be loaded before this one.
    static var dependsOn: [String] { get }
    init()
    /// Registers endpoints, routes, middleware, jobs, event handlers, services.
    /// Throwing refuses the plugin; the error text is the reason shown.
    func register(with kernel: PluginContext) throws
    /// Starts background work, once registrations are live.
    func start(_ kernel: PluginContext) throws
    /// Stops background work. Calls in flight have drained.
    func stop(_ kernel: PluginContext)
}

extension Plugin {
    public static var description: String { "" }
    public static var dependsOn: [String] { [] }
    public func start(_ kernel: PluginContext) throws {}
    public func stop(_ kernel: PluginContext) {}
}

/// The body of a plugin's `kn_plugin_entry`: keeps the host table, builds
/// the descriptor once per image and returns it.
public func export<P: Plugin>(_ plugin: P.Type, host: UnsafeRawPointer?) -> UnsafeRawPointer? {
    guard let host else { return nil }
    let runtime = PluginRuntime(host: host.assumingMemoryBound(to: kn_host_api.self), make: { P() },
                                name: P.name, version: P.version, summary: P.description, dependsOn: P.dependsOn)
    PluginRuntime.current = runtime
    return UnsafeRawPointer(runtime.descriptor)
}

/// The per-image state behind the C hooks. Each load of a plugin file is a
/// new image (the kernel copies the file first), so one global suffices.
final class PluginRuntime: @unchecked Sendable {
    nonisolated(unsafe) static var current: PluginRuntime?

    let host: UnsafePointer<kn_host_api>
    let make: () -> any Plugin
    let descriptor: UnsafeMutablePointer<kn_plugin_descriptor>
    var plugin: (any Plugin)?
    var context: PluginContext?

    init(host: UnsafePointer<kn_host_api>, make: @escaping () -> any Plugin, name: String, version: String,
         summary: String, dependsOn: [String]) {
        self.host = host
        self.make = make
        // Strings and the list live as long as the image: the kernel reads them until stop.
        let dependencies = UnsafeMutablePointer<UnsafePointer<CChar>?>.allocate(capacity: dependsOn.count + 1)
        for (index, name) in dependsOn.enumerated() { dependencies[index] = UnsafePointer(strdup(name)) }
        dependencies[dependsOn.count] = nil
        var d = kn_plugin_descriptor()
        d.struct_size = UInt32(MemoryLayout<kn_plugin_descriptor>.size)
        d.abi_major = UInt16(KN_ABI_MAJOR)
        d.abi_minor = UInt16(KN_ABI_MINOR)
        d.name = UnsafePointer(strdup(name))
        d.version = UnsafePointer(strdup(version))
        d.description = UnsafePointer(strdup(summary))
        d.depends_on = UnsafePointer(dependencies)
        d.flags = 0 // Swift images are never unmapped
        d.`init` = { handle in PluginRuntime.current?.initialize(handle) ?? KN_ERR_INTERNAL }
        d.start = { handle in PluginRuntime.current?.startPlugin() ?? KN_ERR_INTERNAL }
        d.stop = { _ in PluginRuntime.current?.stopPlugin() }
        descriptor = .allocate(capacity: 1)
        descriptor.initialize(to: d)
    }

    private func initialize(_ handle: OpaquePointer?) -> kn_status {
        guard let handle else { return KN_ERR_INVALID_ARGUMENT }
        let context = PluginContext(host: host, handle: handle)
        let plugin = make()
        self.context = context
        self.plugin = plugin
        do {
            try plugin.register(with: context)
            return context.firstFailure ?? KN_OK
        } catch {
            context.setError("\(error)")
            return (error as? PluginError)?.code.status ?? KN_ERR_INTERNAL
        }
    }

    private func startPlugin() -> kn_status {
        guard let plugin, let context else { return KN_ERR_INTERNAL }
        do {
            try plugin.start(context)
            return KN_OK
        } catch {
            context.setError("\(error)")
            return (error as? PluginError)?.code.status ?? KN_ERR_INTERNAL
        }
    }

    private func stopPlugin() {
        guard let plugin, let context else { return }
        plugin.stop(context)
    }
}

#if canImport(Glibc)
import Glibc
#endif
