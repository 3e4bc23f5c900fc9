import CKernelABI
import KernelSDK

/// The `pubsub` core plugin: a durable event log on the storage service,
/// with remote subscribers (envelope `subscribe` on ws and tcp, long-poll
/// and Server-Sent Events on http) that catch up from an offset or a time,
/// per-subscriber authorization, retention, and durable consumers. It
/// serves the kernel's publishes as service "pubsub" 1.0
/// (Protocols/kn_pubsub.h).
struct PubsubPlugin: Plugin {
    static let name = "pubsub"
    static let version = "1.0.0"
    static let description = "Durable events: topics, remote subscribers with catch-up, retention, durable consumers"
    static let dependsOn = ["storage"]

    func register(with kernel: PluginContext) async throws {
        let settings = try PubsubSettings(kernel)
        let storage = try kernel.storage()
        try await storage.sql.migrate(Schema.migrations(backend: storage.backend))
        let runtime = PubsubRuntime(kernel: kernel, settings: settings,
                                    store: EventStore(kernel: kernel, postgres: storage.backend == "postgres"))
        PubsubRuntime.current.withLock { $0 = runtime }
        let status = kernel.host.pointee.register_service(
            kernel.handle, KN_PUBSUB_SERVICE, UInt32(KN_PUBSUB_MAJOR), UInt32(KN_PUBSUB_MINOR), UnsafeRawPointer(ServiceTable.shared))
        guard status == KN_OK else { throw PluginError(.init(status: status), "cannot register service 'pubsub'") }
        kernel.on("kernel.plugin.unloaded") { event in
            guard let name = (try? event.decode([String: String].self))?["name"] else { return }
            runtime.authorizer.removeAll(of: name)
            runtime.consumers.stopAll(of: name)
        }
        Endpoints.register(with: kernel, runtime: runtime)
        OperatorEndpoints.register(with: kernel, runtime: runtime)
        kernel.log(.info, "pubsub ready on \(storage.backend)")
    }

    func start(_ kernel: PluginContext) async throws {
        PubsubRuntime.current.withLock { $0 }?.startRetention()
    }

    func stop(_ kernel: PluginContext) async {
        PubsubRuntime.current.withLock { current -> PubsubRuntime? in
            defer { current = nil }
            return current
        }?.stop()
    }
}

@_cdecl("kn_plugin_entry")
public func entry(_ host: UnsafeRawPointer?) -> UnsafeRawPointer? { export(PubsubPlugin.self, host: host) }
