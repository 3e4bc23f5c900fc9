import CKernelABI
import KernelSDK
import StorageEngine
import Synchronization

/// The `storage` core plugin: opens the configured backend, serves it to
/// other plugins as service "storage" 1.0 (Protocols/kn_storage.h), and to
/// operators through admin-only endpoints `storage.*`.
struct StoragePlugin: Plugin {
    static let name = "storage"
    static let version = "1.0.0"
    static let description = "Key-value, append-only logs and SQL on SQLite (default) or PostgreSQL"

    func register(with kernel: PluginContext) async throws {
        let configuration: StorageConfiguration
        do {
            configuration = try StorageConfiguration.read({ kernel.config($0) }, dataDirectory: kernel.dataDirectory)
        } catch {
            throw PluginError(.invalidArgument, "\(error)")
        }
        // Opened before the registrations go live: plugins that depend on
        // storage load after it, and must find it ready.
        let service: StorageService
        do {
            let backend = try await configuration.openBackend()
            service = StorageService(backend: backend, transactionTimeout: configuration.transactionTimeout,
                                     sweepInterval: configuration.sweepInterval)
        } catch {
            throw PluginError(.unavailable, "cannot open the storage backend: \(error)")
        }
        Forwarding.host.withLock { $0 = HostTable(pointer: kernel.host) }
        let runtime = StorageRuntime(host: kernel.host, service: service)
        StorageRuntime.current.withLock { $0 = runtime }
        let status = kernel.host.pointee.register_service(
            kernel.handle, KN_STORAGE_SERVICE, UInt32(KN_STORAGE_MAJOR), UInt32(KN_STORAGE_MINOR),
            UnsafeRawPointer(ServiceTable.shared))
        guard status == KN_OK else {
            await service.shutdown()
            throw PluginError(.init(status: status), "cannot register service 'storage'")
        }
        OperatorEndpoints.register(with: kernel, service: service)
        if let connecting = service.backend as? ConnectingBackend {
            kernel.log(.warning, "storage started without its database, calls fail as unavailable until it connects: \(connecting.connectionState)")
        } else {
            kernel.log(.info, "storage ready: \(service.backend.name)")
        }
    }

    func stop(_ kernel: PluginContext) async {
        let runtime = StorageRuntime.current.withLock { current -> StorageRuntime? in
            defer { current = nil }
            return current
        }
        guard let runtime else { return }
        await runtime.service.shutdown()
    }
}

/// What the C functions of the service table reach: they cannot capture.
final class StorageRuntime: Sendable {
    static let current = Mutex<StorageRuntime?>(nil)

    // The host table lives as long as the process and is read-only.
    nonisolated(unsafe) let host: UnsafePointer<kn_host_api>
    let service: StorageService

    init(host: UnsafePointer<kn_host_api>, service: StorageService) {
        self.host = host
        self.service = service
    }

    /// The name of the calling plugin, which is its namespace.
    func callerName(_ plugin: OpaquePointer?) -> String? {
        guard let plugin, let name = host.pointee.plugin_name(plugin) else { return nil }
        return String(cString: name)
    }
}

@_cdecl("kn_plugin_entry")
public func entry(_ host: UnsafeRawPointer?) -> UnsafeRawPointer? { export(StoragePlugin.self, host: host) }
