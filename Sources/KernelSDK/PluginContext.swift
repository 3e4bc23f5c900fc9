import CKernelABI
import Synchronization
import Foundation

/// What a plugin does through the kernel: register, log, read its
/// configuration, count, publish events, enqueue jobs, call endpoints.
///
/// ```swift
/// func register(with kernel: PluginContext) async throws {
///     let greeting = kernel.config("greeting") ?? "hello"
///     kernel.endpoint("greet") { (_: Empty, _) in ["message": greeting] }
///     kernel.log(.info, "greeting with '\(greeting)'")
/// }
/// ```
///
/// The context is the plugin's handle for its whole life: keep it, and use
/// it from handlers on any thread. Registration methods belong in
/// `register` or `start`; everything else may be called from any thread.
public final class PluginContext: @unchecked Sendable {
    /// The kernel's function table, for the transport kit and the core
    /// plugins that serve a C service table.
    package let host: UnsafePointer<kn_host_api>
    /// This plugin, as the kernel knows it (`kn_plugin *`).
    package let handle: OpaquePointer
    /// The kernel has `call_ready` (ABI 1.1): stream senders can wait for it.
    package let hostHasCallReady: Bool
    /// The kernel has `publish_event` (ABI 1.3); asked once, not on every publish.
    let hostHasPublishEvent: Bool
    /// The first registration the kernel refused, which fails init.
    var firstFailure: kn_status?
    /// Run after the plugin's stop: what the SDK registered with services (pubsub) goes away with it.
    let afterStop = Mutex<[@Sendable () -> Void]>([])
    /// Registrations with the pubsub service, made again when it reloads.
    let pubsubLinks = Mutex<[PubsubLink]>([])

    init(host: UnsafePointer<kn_host_api>, handle: OpaquePointer) {
        self.host = host
        self.handle = handle
        hostHasCallReady = Self.table(host, has: \.call_ready)
        hostHasPublishEvent = Self.table(host, has: \.publish_event)
    }

    /// Severity of a log line.
    public enum LogLevel: Int32, Sendable { case trace = 0, debug, info, warning, error }

    /// Logs one line under the plugin's name.
    public func log(_ level: LogLevel = .info, _ message: String) {
        host.pointee.log(handle, level.rawValue, message)
    }

    /// The plugin's configuration value for `key` (the config file's
    /// `[<plugin>]` section, or `--set <plugin>.<key>=<value>`), or nil.
    public func config(_ key: String) -> String? {
        host.pointee.config_get(handle, key).map { String(cString: $0) }
    }

    /// An integer configuration value; `value` when absent or not a number.
    public func config(_ key: String, default value: Int) -> Int { config(key).flatMap(Int.init) ?? value }

    /// A span given in milliseconds under `key` (the `_ms` keys); `value`
    /// when absent or not a number.
    public func config(_ key: String, default value: Duration) -> Duration {
        config(key).flatMap(Int64.init).map { .milliseconds($0) } ?? value
    }

    /// The plugin's own data directory (`<data>/plugins/<name>`, created).
    public var dataDirectory: String { host.pointee.data_dir(handle).map { String(cString: $0) } ?? "." }

    /// Adds `delta` to a counter shown by `kernelctl info`.
    public func count(_ metric: String, by delta: Int64 = 1) { host.pointee.metric_add(handle, metric, delta) }

    /// Sets a gauge shown by `kernelctl info`.
    public func gauge(_ metric: String, _ value: Int64) { host.pointee.metric_set(handle, metric, value) }

    func setError(_ message: String) { host.pointee.set_error(handle, message) }

    /// Records the first refused registration (it fails init) and logs it.
    func check(_ status: kn_status, _ what: String) {
        if status != KN_OK {
            if firstFailure == nil { firstFailure = status }
            log(.error, "cannot register \(what): \(PluginError.Code(status: status).rawValue)")
        }
    }

    /// Whether the kernel's table has `function` (it was appended in a
    /// later minor than the kernel's): `kn_plugin.h`'s `KN_HOST_HAS`.
    package func hostHas<T>(_ function: KeyPath<kn_host_api, T>) -> Bool { Self.table(host, has: function) }

    static func table<T>(_ host: UnsafePointer<kn_host_api>, has function: KeyPath<kn_host_api, T>) -> Bool {
        guard let offset = MemoryLayout<kn_host_api>.offset(of: function) else { return false }
        return Int(host.pointee.struct_size) >= offset + MemoryLayout<T>.size
    }
}

extension PluginContext {
    /// A listening socket owned by the kernel (kept across reloads): a
    /// duplicate descriptor, owned by the caller (close it in `stop`), and
    /// the bound port. The transport kit's `TransportServer` uses it.
    package func listen(host address: String, port: UInt16) throws(PluginError) -> (fd: Int32, port: UInt16) {
        var fd: Int32 = -1
        var bound: UInt16 = 0
        let status = host.pointee.listen(handle, address, port, &fd, &bound)
        guard status == KN_OK else {
            throw PluginError(.init(status: status), "cannot listen on \(address):\(port)")
        }
        return (fd, bound)
    }
}
