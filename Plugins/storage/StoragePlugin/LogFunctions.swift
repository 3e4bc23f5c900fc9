import CKernelABI
import KernelSDK
import StorageEngine

/// The log functions of the service table.
enum LogFunctions {
    typealias OffsetDone = Reply<kn_storage_offset_fn>

    static let append: @convention(c) (OpaquePointer?, UnsafePointer<CChar>?, UnsafePointer<CChar>?, kn_bytes,
                                       kn_storage_offset_fn?, UnsafeMutableRawPointer?) -> Void = {
        plugin, ns, stream, payload, done, userData in
        if let next = Forwarding.successor(for: plugin) { return next.pointee.log_append!(plugin, ns, stream, payload, done, userData) }
        let reply = OffsetDone(callback: done, userData: userData)
        let (namespace, stream, payload) = (string(ns), string(stream) ?? "", payload.array)
        perform({ runtime, caller in
            try await runtime.service.logAppend(caller: caller, namespace: namespace, stream: stream, payload: payload)
        }, plugin: plugin, deliver: { offset in reply.callback?(reply.userData, KN_OK, "", offset, 0) },
           fail: { status, message in reply.callback?(reply.userData, status, message, 0, 0) })
    }

    static let read: @convention(c) (OpaquePointer?, UnsafePointer<CChar>?, UnsafePointer<CChar>?, UInt64, UInt32,
                                     kn_storage_batch_fn?, UnsafeMutableRawPointer?) -> Void = {
        plugin, ns, stream, from, limit, done, userData in
        if let next = Forwarding.successor(for: plugin) { return next.pointee.log_read!(plugin, ns, stream, from, limit, done, userData) }
        let reply = Reply(callback: done, userData: userData)
        let (namespace, stream) = (string(ns), string(stream) ?? "")
        perform({ runtime, caller in
            try await runtime.service.logRead(caller: caller, namespace: namespace, stream: stream, from: from, limit: limit)
        }, plugin: plugin, deliver: { batch in
            guard let done = reply.callback else { return }
            let arena = Arena(capacity: batch.records.reduce(0) { $0 + $1.payload.count })
            let records = batch.records.map {
                kn_storage_record(struct_size: UInt32(MemoryLayout<kn_storage_record>.size), offset: $0.offset,
                                  appended_at_ms: $0.appendedAtMilliseconds, payload: arena.bytes($0.payload))
            }
            records.withUnsafeBufferPointer { buffer in
                var result = kn_storage_batch(struct_size: UInt32(MemoryLayout<kn_storage_batch>.size),
                                              records: buffer.baseAddress, count: buffer.count,
                                              first_offset: batch.firstOffset, next_offset: batch.nextOffset, gap: batch.gap)
                done(reply.userData, KN_OK, "", &result)
            }
            withExtendedLifetime(arena) {}
        }, fail: { status, message in reply.callback?(reply.userData, status, message, nil) })
    }

    static let trim: @convention(c) (OpaquePointer?, UnsafePointer<CChar>?, UnsafePointer<CChar>?, UInt64, Int64,
                                     kn_storage_offset_fn?, UnsafeMutableRawPointer?) -> Void = {
        plugin, ns, stream, keepLast, before, done, userData in
        if let next = Forwarding.successor(for: plugin) { return next.pointee.log_trim!(plugin, ns, stream, keepLast, before, done, userData) }
        let reply = OffsetDone(callback: done, userData: userData)
        let (namespace, stream) = (string(ns), string(stream) ?? "")
        perform({ runtime, caller in
            try await runtime.service.logTrim(caller: caller, namespace: namespace, stream: stream, keepLast: keepLast,
                                              beforeMilliseconds: before)
        }, plugin: plugin, deliver: { outcome in reply.callback?(reply.userData, KN_OK, "", outcome.firstOffset, outcome.removed) },
           fail: { status, message in reply.callback?(reply.userData, status, message, 0, 0) })
    }
}
