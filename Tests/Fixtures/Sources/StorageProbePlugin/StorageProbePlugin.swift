import Foundation
import KernelSDK
import Synchronization

/// A test plugin: each endpoint runs storage operations through the SDK
/// (so through the C service table), for the integration tests and the
/// benchmark to drive over HTTP.
struct StorageProbePlugin: Plugin {
    static let name = "storageprobe"
    static let version = "1.0.0"
    static let description = "Drives the storage service for tests and benchmarks"
    static let dependsOn = ["storage"]

    func register(with kernel: PluginContext) throws {
        let storage = try kernel.storage()
        ProbeKV.register(kernel, storage)
        ProbeLog.register(kernel, storage)
        ProbeSQL.register(kernel, storage)
        ProbeBench.register(kernel, storage)
        kernel.endpoint("probe.backend") { (_: Empty, _) in ["backend": storage.backend] }
    }
}

@_cdecl("kn_plugin_entry")
public func entry(_ host: UnsafeRawPointer?) -> UnsafeRawPointer? { export(StorageProbePlugin.self, host: host) }
