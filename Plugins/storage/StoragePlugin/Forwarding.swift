import CKernelABI
import KernelSDK
import Synchronization

/// After a reload of the storage plugin, callers may still hold this
/// image's table (C plugins keep it from their init). Once this image has
/// stopped, its functions hand each call to the table registered now, so
/// those callers keep working instead of failing for ever.
enum Forwarding {
    static let host = Mutex<HostTable?>(nil)

    /// The current provider's table when this image is stopped and another
    /// one serves "storage"; nil while this image serves.
    static func successor(for plugin: OpaquePointer?) -> UnsafePointer<kn_storage_api>? {
        guard StorageRuntime.current.withLock({ $0 }) == nil, let plugin,
              let host = host.withLock({ $0 })?.pointer else { return nil }
        var table: UnsafeRawPointer?
        var minor: UInt32 = 0
        guard host.pointee.lookup_service(plugin, KN_STORAGE_SERVICE, UInt32(KN_STORAGE_MAJOR), 0, &table, &minor) == KN_OK,
              let table, table != UnsafeRawPointer(ServiceTable.shared) else { return nil }
        return table.assumingMemoryBound(to: kn_storage_api.self)
    }
}

/// The host table, valid for the life of the process.
struct HostTable: @unchecked Sendable {
    let pointer: UnsafePointer<kn_host_api>
}
