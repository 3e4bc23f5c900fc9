import CKernelABI
import Foundation

/// Keys of one namespace. Keys are UTF-8 strings of 1...1024 bytes; values
/// up to 1 MiB.
///
/// ```swift
/// let sessions = try kernel.storage().kv
/// let entry = try await sessions.put("session:42", "ada", ttl: .seconds(3600))
/// try await sessions.compareAndSet("session:42", expectedVersion: entry.version, "grace")
/// ```
public struct KeyValueStore: Sendable {
    let storage: Storage
    /// nil: the plugin's own namespace.
    public let namespace: String?

    /// The value of `key`, or nil when absent or expired.
    public func get(_ key: String) async throws(PluginError) -> StoredValue? {
        let storage = storage
        return try await OneShot<StoredValue?>.wait { waiter throws(PluginError) in
            guard let function = storage.table.pointee.kv_get else {
                throw StorageErrors.missing("kv_get")
            }
            withBytes(Array(key.utf8)) { key in
                function(storage.handle, namespace, key, Self.optionalEntry, waiter.retained)
            }
        }
    }

    /// The value of `key`; `PluginError.notFound` when absent.
    public func require(_ key: String) async throws(PluginError) -> StoredValue {
        guard let value = try await get(key) else { throw PluginError.notFound("no key '\(key)'") }
        return value
    }

    /// Writes `value` (durable on return); `ttl` expires it.
    @discardableResult
    public func put(_ key: String, _ value: [UInt8], ttl: Duration? = nil) async throws(PluginError) -> StoredValue {
        let storage = storage
        return try await OneShot<StoredValue>.wait { waiter throws(PluginError) in
            guard let function = storage.table.pointee.kv_put else {
                throw StorageErrors.missing("kv_put")
            }
            withBytes(Array(key.utf8)) { key in
                withBytes(value) { value in
                    function(storage.handle, namespace, key, value, (ttl?.milliseconds ?? 0), Self.entry,
                             waiter.retained)
                }
            }
        }
    }

    @discardableResult
    public func put(_ key: String, _ value: String, ttl: Duration? = nil) async throws(PluginError) -> StoredValue {
        try await put(key, Array(value.utf8), ttl: ttl)
    }

    /// Writes `value` as JSON.
    @discardableResult
    public func put<T: Encodable>(_ key: String, json value: T, ttl: Duration? = nil) async throws(PluginError) -> StoredValue {
        try await put(key, try JSON.encode(value, what: "value"), ttl: ttl)
    }

    /// Writes `value` only if the key is at `expectedVersion` (0: only if
    /// absent); `PluginError.conflict` otherwise.
    @discardableResult
    public func compareAndSet(_ key: String, expectedVersion: UInt64, _ value: [UInt8],
                              ttl: Duration? = nil) async throws(PluginError) -> StoredValue {
        let storage = storage
        return try await OneShot<StoredValue>.wait { waiter throws(PluginError) in
            guard let function = storage.table.pointee.kv_compare_and_set else {
                throw StorageErrors.missing("kv_compare_and_set")
            }
            withBytes(Array(key.utf8)) { key in
                withBytes(value) { value in
                    function(storage.handle, namespace, key, expectedVersion, value, (ttl?.milliseconds ?? 0), Self.entry,
                             waiter.retained)
                }
            }
        }
    }

    @discardableResult
    public func compareAndSet(_ key: String, expectedVersion: UInt64, _ value: String,
                              ttl: Duration? = nil) async throws(PluginError) -> StoredValue {
        try await compareAndSet(key, expectedVersion: expectedVersion, Array(value.utf8), ttl: ttl)
    }

    /// compareAndSet with the value as JSON.
    @discardableResult
    public func compareAndSet<T: Encodable>(_ key: String, expectedVersion: UInt64, json value: T,
                                            ttl: Duration? = nil) async throws(PluginError) -> StoredValue {
        try await compareAndSet(key, expectedVersion: expectedVersion, try JSON.encode(value, what: "value"), ttl: ttl)
    }

    /// Deletes `key`; false when it was absent.
    @discardableResult
    public func delete(_ key: String) async throws(PluginError) -> Bool {
        let storage = storage
        let deleted = try await OneShot<StoredValue?>.wait { waiter throws(PluginError) in
            guard let function = storage.table.pointee.kv_delete else {
                throw StorageErrors.missing("kv_delete")
            }
            withBytes(Array(key.utf8)) { key in
                function(storage.handle, namespace, key, Self.optionalEntry, waiter.retained)
            }
        }
        return deleted != nil
    }

    /// Keys starting with `prefix`, in byte order, a page at a time: pass
    /// the page's `nextCursor` to get the next one.
    public func scan(prefix: String = "", cursor: String? = nil, limit: Int = 100) async throws(PluginError) -> ScanPage {
        let storage = storage
        return try await OneShot<ScanPage>.wait { waiter throws(PluginError) in
            guard let function = storage.table.pointee.kv_scan else {
                throw StorageErrors.missing("kv_scan")
            }
            withBytes(Array(prefix.utf8)) { prefix in
                withBytes(Array((cursor ?? "").utf8)) { cursor in
                    function(storage.handle, namespace, prefix, cursor, UInt32(clamping: max(0, limit)), { userData, status, message, page in
                        OneShot<ScanPage>.take(userData).finish(status, message, ScanPage(page!.pointee))
                    }, waiter.retained)
                }
            }
        }
    }

    private static let entry: kn_storage_entry_fn = { userData, status, message, entry in
        OneShot<StoredValue>.take(userData).finish(status, message, StoredValue(entry!.pointee))
    }

    private static let optionalEntry: kn_storage_entry_fn = { userData, status, message, entry in
        OneShot<StoredValue?>.take(userData).finish(status, message, entry.map { StoredValue($0.pointee) })
    }
}

/// A key's value as stored (a copy).
///
/// ```swift
/// if let value = try await storage.kv.get("settings") {
///     let settings = try value.decode(Settings.self)
///     print(value.version, value.expiresAt as Any)
/// }
/// ```
public struct StoredValue: Sendable, Equatable {
    public let key: String
    public let bytes: [UInt8]
    /// Increases with every write and is never reused: the token of compareAndSet.
    public let version: UInt64
    /// When the key expires; nil without TTL.
    public let expiresAt: Date?

    init(_ entry: kn_storage_entry) {
        key = String(decoding: entry.key.copiedBytes, as: UTF8.self)
        bytes = entry.value.copiedBytes
        version = entry.version
        expiresAt = entry.expires_at_ms == 0 ? nil : Date(timeIntervalSince1970: Double(entry.expires_at_ms) / 1_000)
    }

    /// The value as UTF-8 text.
    public var string: String { String(decoding: bytes, as: UTF8.self) }

    public func decode<T: Decodable>(_ type: T.Type) throws(PluginError) -> T {
        try JSON.decode(T.self, from: bytes, what: "stored value", code: .internal)
    }
}

/// One page of keys, in byte order, and where the next one starts.
///
/// ```swift
/// var cursor: String?
/// repeat {
///     let page = try await storage.kv.scan(prefix: "user:", cursor: cursor)
///     for entry in page.entries { print(entry.key) }
///     cursor = page.nextCursor
/// } while cursor != nil
/// ```
public struct ScanPage: Sendable {
    public let entries: [StoredValue]
    /// The cursor of the next page; nil on the last one.
    public let nextCursor: String?

    init(_ page: kn_storage_page) {
        entries = (0..<page.count).map { StoredValue(page.entries[$0]) }
        let cursor = page.next_cursor.copiedBytes
        nextCursor = cursor.isEmpty ? nil : String(decoding: cursor, as: UTF8.self)
    }
}
