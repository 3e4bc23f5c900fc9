import CKernelABI
import KernelSDK
import StorageEngine

/// The key-value functions of the service table.
enum KVFunctions {
    typealias Done = Reply<kn_storage_entry_fn>

    static let get: @convention(c) (OpaquePointer?, UnsafePointer<CChar>?, kn_bytes, kn_storage_entry_fn?,
                                    UnsafeMutableRawPointer?) -> Void = { plugin, ns, key, done, userData in
        if let next = Forwarding.successor(for: plugin) { return next.pointee.kv_get!(plugin, ns, key, done, userData) }
        let reply = Done(callback: done, userData: userData)
        let (namespace, key) = (string(ns), key.array)
        perform({ runtime, caller in try await runtime.service.kvGet(caller: caller, namespace: namespace, key: key) },
                plugin: plugin, deliver: { deliver(reply, $0) }, fail: { fail(reply, $0, $1) })
    }

    static let put: @convention(c) (OpaquePointer?, UnsafePointer<CChar>?, kn_bytes, kn_bytes, UInt64,
                                    kn_storage_entry_fn?, UnsafeMutableRawPointer?) -> Void = { plugin, ns, key, value, ttl, done, userData in
        if let next = Forwarding.successor(for: plugin) { return next.pointee.kv_put!(plugin, ns, key, value, ttl, done, userData) }
        let reply = Done(callback: done, userData: userData)
        let (namespace, key, value) = (string(ns), key.array, value.array)
        perform({ runtime, caller in
            try await runtime.service.kvPut(caller: caller, namespace: namespace, key: key, value: value, ttlMilliseconds: ttl)
        }, plugin: plugin, deliver: { deliver(reply, $0) }, fail: { fail(reply, $0, $1) })
    }

    static let compareAndSet: @convention(c) (OpaquePointer?, UnsafePointer<CChar>?, kn_bytes, UInt64, kn_bytes, UInt64,
                                              kn_storage_entry_fn?, UnsafeMutableRawPointer?) -> Void = {
        plugin, ns, key, expected, value, ttl, done, userData in
        if let next = Forwarding.successor(for: plugin) { return next.pointee.kv_compare_and_set!(plugin, ns, key, expected, value, ttl, done, userData) }
        let reply = Done(callback: done, userData: userData)
        let (namespace, key, value) = (string(ns), key.array, value.array)
        perform({ runtime, caller in
            try await runtime.service.kvCompareAndSet(caller: caller, namespace: namespace, key: key, expectedVersion: expected,
                                                      value: value, ttlMilliseconds: ttl)
        }, plugin: plugin, deliver: { deliver(reply, $0) }, fail: { fail(reply, $0, $1) })
    }

    static let delete: @convention(c) (OpaquePointer?, UnsafePointer<CChar>?, kn_bytes, kn_storage_entry_fn?,
                                       UnsafeMutableRawPointer?) -> Void = { plugin, ns, key, done, userData in
        if let next = Forwarding.successor(for: plugin) { return next.pointee.kv_delete!(plugin, ns, key, done, userData) }
        let reply = Done(callback: done, userData: userData)
        let (namespace, key) = (string(ns), key.array)
        perform({ runtime, caller in try await runtime.service.kvDelete(caller: caller, namespace: namespace, key: key) },
                plugin: plugin, deliver: { deliver(reply, $0) }, fail: { fail(reply, $0, $1) })
    }

    static let scan: @convention(c) (OpaquePointer?, UnsafePointer<CChar>?, kn_bytes, kn_bytes, UInt32,
                                     kn_storage_page_fn?, UnsafeMutableRawPointer?) -> Void = {
        plugin, ns, prefix, cursor, limit, done, userData in
        if let next = Forwarding.successor(for: plugin) { return next.pointee.kv_scan!(plugin, ns, prefix, cursor, limit, done, userData) }
        let reply = Reply(callback: done, userData: userData)
        let (namespace, prefix, cursor) = (string(ns), prefix.array, cursor.array)
        perform({ runtime, caller in
            try await runtime.service.kvScan(caller: caller, namespace: namespace, prefix: prefix, cursor: cursor, limit: limit)
        }, plugin: plugin, deliver: { page in
            guard let done = reply.callback else { return }
            let arena = Arena(capacity: page.entries.reduce(page.nextCursor.count) { $0 + $1.key.count + $1.value.count })
            let entries = page.entries.map { cEntry($0, arena) }
            entries.withUnsafeBufferPointer { buffer in
                var result = kn_storage_page(struct_size: UInt32(MemoryLayout<kn_storage_page>.size),
                                             entries: buffer.baseAddress, count: buffer.count,
                                             next_cursor: arena.bytes(page.nextCursor))
                done(reply.userData, KN_OK, "", &result)
            }
            withExtendedLifetime(arena) {}
        }, fail: { status, message in reply.callback?(reply.userData, status, message, nil) })
    }

    static func cEntry(_ entry: KVEntry, _ arena: Arena) -> kn_storage_entry {
        kn_storage_entry(struct_size: UInt32(MemoryLayout<kn_storage_entry>.size), key: arena.bytes(entry.key),
                         value: arena.bytes(entry.value), version: entry.version,
                         expires_at_ms: entry.expiresAtMilliseconds)
    }

    static func deliver(_ reply: Done, _ entry: KVEntry?) {
        guard let done = reply.callback else { return }
        guard let entry else {
            done(reply.userData, KN_OK, "", nil)
            return
        }
        let arena = Arena(capacity: entry.key.count + entry.value.count)
        var result = cEntry(entry, arena)
        done(reply.userData, KN_OK, "", &result)
        withExtendedLifetime(arena) {}
    }

    static func fail(_ reply: Done, _ status: kn_status, _ message: String) {
        reply.callback?(reply.userData, status, message, nil)
    }
}
