import CKernelABI
import Dispatch
import Foundation

/// The bridge between the kernel's synchronous C hooks (`init`, `start`,
/// `stop`, called on its control thread) and the plugin's `async` ones. The
/// only place in the SDK where a thread waits for a task: the control thread
/// may block, and waiting there keeps loads in dependency order.
final class PluginRuntime: @unchecked Sendable {
    /// Each load of a plugin file is a new image (the kernel copies the file
    /// first), with its own copy of this global: one runtime per image.
    nonisolated(unsafe) static var current: PluginRuntime?

    let host: UnsafePointer<kn_host_api>
    let make: @Sendable () -> any Plugin
    let descriptor: UnsafeMutablePointer<kn_plugin_descriptor>
    // Written by one hook, read by the next; the control thread runs them in turn.
    var plugin: (any Plugin)?
    var context: PluginContext?

    static func install<P: Plugin>(_ type: P.Type, host: UnsafeRawPointer) -> UnsafeRawPointer {
        let runtime = PluginRuntime(host: host.assumingMemoryBound(to: kn_host_api.self), make: { P() },
                                    name: P.name, version: P.version, summary: P.description, dependsOn: P.dependsOn)
        current = runtime
        return UnsafeRawPointer(runtime.descriptor)
    }

    private init(host: UnsafePointer<kn_host_api>, make: @escaping @Sendable () -> any Plugin, name: String,
                 version: String, summary: String, dependsOn: [String]) {
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
        d.start = { _ in PluginRuntime.current?.startPlugin() ?? KN_ERR_INTERNAL }
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
        let failure = Self.wait { () async -> (any Error)? in
            do {
                try await plugin.register(with: context)
                return nil
            } catch {
                return error
            }
        }
        return finish(failure, context) ?? context.firstFailure ?? KN_OK
    }

    private func startPlugin() -> kn_status {
        guard let plugin, let context else { return KN_ERR_INTERNAL }
        let failure = Self.wait { () async -> (any Error)? in
            do {
                try await plugin.start(context)
                return nil
            } catch {
                return error
            }
        }
        return finish(failure, context) ?? KN_OK
    }

    private func stopPlugin() {
        guard let plugin, let context else { return }
        Self.wait { await plugin.stop(context) }
        for action in context.afterStop.withLock({ actions in defer { actions = [] }; return actions }) { action() }
    }

    /// The status of a failed hook, with its reason given to the kernel.
    private func finish(_ failure: (any Error)?, _ context: PluginContext) -> kn_status? {
        guard let failure else { return nil }
        let error = PluginError(failure)
        context.setError(error.code == .internal ? error.message : "\(error)")
        return error.code.status
    }

    /// Runs `body` as a task and blocks the calling (control) thread until it
    /// returns. The task runs on the concurrency pool, never on this thread.
    @discardableResult
    static func wait<T: Sendable>(_ body: @escaping @Sendable () async -> T) -> T {
        let box = ResultBox<T>()
        let done = DispatchSemaphore(value: 0)
        Task {
            box.value = await body()
            done.signal()
        }
        done.wait()
        return box.value!
    }

    /// Written before the semaphore is signalled, read after it is waited on.
    private final class ResultBox<T>: @unchecked Sendable {
        var value: T?
    }
}
