import CKernelABI
import KernelSDK
import StorageEngine

/// The `kn_storage_api` table registered as service "storage" 1.0. Its
/// functions cannot capture, so they find the service in StorageRuntime.
enum ServiceTable {
    /// One table per image, valid until the process exits (the kernel never
    /// unmaps a Swift plugin), hence beyond stop.
    nonisolated(unsafe) static let shared: UnsafeMutablePointer<kn_storage_api> = {
        var table = kn_storage_api()
        table.struct_size = UInt32(MemoryLayout<kn_storage_api>.size)
        table.backend = { StorageRuntime.current.withLock { $0 }?.service.backend.name == "postgres" ? Names.postgres : Names.sqlite }
        table.kv_get = KVFunctions.get
        table.kv_put = KVFunctions.put
        table.kv_compare_and_set = KVFunctions.compareAndSet
        table.kv_delete = KVFunctions.delete
        table.kv_scan = KVFunctions.scan
        table.log_append = LogFunctions.append
        table.log_read = LogFunctions.read
        table.log_trim = LogFunctions.trim
        table.sql_begin = SQLFunctions.begin
        table.sql_run = SQLFunctions.run
        table.sql_commit = SQLFunctions.commit
        table.sql_rollback = SQLFunctions.rollback
        table.sql_migrate = SQLFunctions.migrate
        let pointer = UnsafeMutablePointer<kn_storage_api>.allocate(capacity: 1)
        pointer.initialize(to: table)
        return pointer
    }()

    /// Static C strings for `backend()`.
    enum Names {
        nonisolated(unsafe) static let sqlite = UnsafePointer(strdup("sqlite")!)
        nonisolated(unsafe) static let postgres = UnsafePointer(strdup("postgres")!)
    }
}

#if canImport(Glibc)
import Glibc
#endif
