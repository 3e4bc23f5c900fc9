import CKernelABI
import Foundation

/// The `storage` service (Protocols/kn_storage.h) for Swift plugins:
/// key-value, append-only logs and SQL, all async.
///
/// ```swift
/// static let dependsOn = ["storage"]
/// let storage = try kernel.storage()
/// let entry = try await storage.kv.put("greeting", "hello")
/// let offset = try await storage.log("audit").append("created")
/// let rows = try await storage.sql.query("SELECT id FROM users WHERE email = $1", [.text(email)])
/// ```
///
/// Every wait honours Task cancellation (it throws `cancelled`; the
/// operation may still complete in the service). Failures are `PluginError`s: `notFound` (unknown namespace),
/// `conflict` (stale version, unique constraint), `tooLarge` (a limit of
/// kn_storage.h), `invalidArgument` (malformed SQL, closed transaction),
/// `unavailable` (backend down), `timeout`.
public final class Storage: Sendable {
    /// The table found first; a stopped provider's table forwards to its successor.
    nonisolated(unsafe) private let firstTable: UnsafePointer<kn_storage_api>
    let context: PluginContext
    /// The service's minor version (functions appended later need a higher one).
    public let minorVersion: UInt32

    init(table: UnsafePointer<kn_storage_api>, minor: UInt32, context: PluginContext) {
        self.firstTable = table
        self.minorVersion = minor
        self.context = context
    }

    var handle: OpaquePointer { context.handle }

    /// The provider's table, looked up at each use (the rule of
    /// `kn_plugin.h` for service tables): after a reload of storage, calls go
    /// straight to the running version.
    var table: UnsafePointer<kn_storage_api> {
        var found: UnsafeRawPointer?
        var minor: UInt32 = 0
        guard context.host.pointee.lookup_service(context.handle, KN_STORAGE_SERVICE, UInt32(KN_STORAGE_MAJOR), 0,
                                                  &found, &minor) == KN_OK, let found else { return firstTable }
        return found.assumingMemoryBound(to: kn_storage_api.self)
    }

    /// "sqlite" or "postgres": the SQL dialect of `sql`.
    public var backend: String { table.pointee.backend.flatMap { $0() }.map { String(cString: $0) } ?? "unknown" }

    /// The plugin's own key-value namespace.
    public var kv: KeyValueStore { KeyValueStore(storage: self, namespace: nil) }

    /// A shared namespace (`shared.<name>`), reachable by every plugin that asks.
    public func kv(namespace: String) -> KeyValueStore { KeyValueStore(storage: self, namespace: namespace) }

    /// A log stream of the plugin's namespace (or of a shared one).
    public func log(_ stream: String, namespace: String? = nil) -> LogStream {
        LogStream(storage: self, namespace: namespace, name: stream)
    }

    /// The plugin's own SQL database (tables of other plugins are not visible).
    public var sql: SQLDatabase { SQLDatabase(storage: self) }
}

extension PluginContext {
    /// The storage service. The plugin lists "storage" in `dependsOn`, so it
    /// is loaded after storage and stopped before it.
    public func storage() throws(PluginError) -> Storage {
        var table: UnsafeRawPointer?
        var minor: UInt32 = 0
        let status = host.pointee.lookup_service(handle, KN_STORAGE_SERVICE, UInt32(KN_STORAGE_MAJOR), 0, &table, &minor)
        guard status == KN_OK, let table else {
            throw PluginError(.unavailable, "service 'storage' \(KN_STORAGE_MAJOR).x is not loaded (list \"storage\" in dependsOn)")
        }
        return Storage(table: table.assumingMemoryBound(to: kn_storage_api.self), minor: minor, context: self)
    }
}

extension OneShot {
    /// A storage completion: `value` when `status` is OK, the error otherwise.
    func finish(_ status: kn_status, _ message: UnsafePointer<CChar>?, _ value: @autoclosure () -> Value) {
        resume(status == KN_OK ? .success(value()) : .failure(StorageErrors.make(status, message)))
    }
}

enum StorageErrors {
    static func make(_ status: kn_status, _ message: UnsafePointer<CChar>?) -> PluginError {
        PluginError(.init(status: status), message.map { String(cString: $0) } ?? "storage error")
    }

    static func missing(_ function: String) -> PluginError {
        PluginError(.unavailable, "the storage service has no \(function) (older minor version)")
    }
}

/// Calls `body` with a kn_bytes view of `bytes` (valid for the call only).
func withBytes<R>(_ bytes: [UInt8], _ body: (kn_bytes) throws -> R) rethrows -> R {
    try bytes.withUnsafeBufferPointer { try body(kn_bytes(ptr: $0.baseAddress, len: $0.count)) }
}

