import CKernelABI
import Foundation

/// Publishing events. With the pubsub plugin loaded an event is stored
/// (for the topics it keeps) and reaches remote subscribers and durable
/// consumers; in every case it reaches the handlers of matching patterns
/// (`on`), later, on the kernel's event thread. Any thread.
extension PluginContext {
    /// Publishes an event with a JSON payload, without waiting for the
    /// store: returns once the kernel has it. A refusal after that (a
    /// publish rule) is logged by the kernel, not thrown: `await` the
    /// `publish(_:_:context:)` form to learn it.
    ///
    /// ```swift
    /// try kernel.publish("orders.created", Order(id: 42))
    /// ```
    public func publish<T: Encodable>(_ topic: String, _ payload: T) throws(PluginError) {
        try publish(topic, json: try JSON.encode(payload, what: "event payload"))
    }

    /// Publishes an event whose payload is JSON already, like `publish(_:_:)`.
    ///
    /// ```swift
    /// try kernel.publish("orders.created", json: Array(#"{"id":42}"#.utf8))
    /// ```
    public func publish(_ topic: String, json bytes: [UInt8]) throws(PluginError) {
        let status = try bytes.withUnsafeBufferPointer { (payload) throws(PluginError) -> kn_status in
            let slice = kn_bytes(ptr: payload.baseAddress, len: payload.count)
            guard hostHasPublishEvent else { return host.pointee.publish(handle, topic, slice) }
            guard RequestScope.requestID != nil else { return host.pointee.publish_event(handle, topic, slice, nil, nil, nil) }
            // Inside a request: the event's context carries its id.
            return try EventContext().withContext { (context) throws(PluginError) -> kn_status in
                var options = kn_publish_options()
                options.struct_size = UInt32(MemoryLayout<kn_publish_options>.size)
                options.context = context
                return host.pointee.publish_event(handle, topic, slice, &options, nil, nil)
            }
        }
        guard status == KN_OK else { throw PluginError(.init(status: status), "cannot publish to '\(topic)'") }
    }

    /// Publishes an event with a context and waits until it is stored;
    /// returns its offset (0 when not stored: no pubsub plugin, or a topic
    /// it does not keep). Throws `forbidden` when a publish rule refuses it.
    ///
    /// ```swift
    /// let offset = try await kernel.publish("invoices.paid", invoice, context: EventContext(tenant: "acme"))
    /// ```
    @discardableResult
    public func publish<T: Encodable>(_ topic: String, _ payload: T, context: EventContext) async throws(PluginError) -> UInt64 {
        try await publishEvent(topic, try JSON.encode(payload, what: "event payload"), call: nil, context: context)
    }

    /// Publishes an event on behalf of the request being served: its
    /// context is the request's `auth.*` metadata and request id (fields of
    /// `context` override them). Waits until it is stored; returns its offset.
    ///
    /// ```swift
    /// kernel.endpoint("orders.create") { (order: Order, request: RequestContext) async throws -> Order in
    ///     try await kernel.publish("orders.created", order, for: request)
    ///     return order
    /// }
    /// ```
    @discardableResult
    public func publish<T: Encodable>(_ topic: String, _ payload: T, for request: RequestContext,
                                      context: EventContext = EventContext()) async throws(PluginError) -> UInt64 {
        try await publishEvent(topic, try JSON.encode(payload, what: "event payload"), call: request.call, context: context)
    }

    /// `publish(_:_:context:)` with a payload that is JSON already.
    @discardableResult
    public func publish(_ topic: String, json bytes: [UInt8], context: EventContext) async throws(PluginError) -> UInt64 {
        try await publishEvent(topic, bytes, call: nil, context: context)
    }

    /// Publishes many events on `topic` with one context and waits until
    /// all are stored: the pubsub plugin commits the ones that arrive
    /// together in one transaction. Returns their offsets, in order. The
    /// first refusal throws (the others may be stored).
    ///
    /// ```swift
    /// let offsets = try await kernel.publish("metrics.sample", jsonBatch: samples.map { try JSONEncoder().encode($0) }.map(Array.init),
    ///                                        context: EventContext())
    /// ```
    @discardableResult
    public func publish(_ topic: String, jsonBatch payloads: [[UInt8]], context: EventContext) async throws(PluginError) -> [UInt64] {
        guard hostHasPublishEvent else {
            for payload in payloads { try publish(topic, json: payload) }
            return payloads.map { _ in 0 }
        }
        guard !payloads.isEmpty else { return [] }
        let batch = PublishBatch(count: payloads.count)
        return try await OneShot<[UInt64]>.wait { waiter throws(PluginError) in
            batch.waiter = waiter
            try context.withContext { (context) throws(PluginError) -> Void in
                var options = kn_publish_options()
                options.struct_size = UInt32(MemoryLayout<kn_publish_options>.size)
                options.context = context
                for (index, payload) in payloads.enumerated() {
                    let status = payload.withUnsafeBufferPointer { bytes in
                        host.pointee.publish_event(handle, topic, kn_bytes(ptr: bytes.baseAddress, len: bytes.count), &options,
                                                   { slot, status, offset, message in
                            PublishBatch.done(slot, status, offset, message.map { String(cString: $0) })
                        }, batch.slot(index))
                    }
                    if status != KN_OK {
                        batch.fail(index, PluginError(.init(status: status), "cannot publish to '\(topic)'"))
                    }
                }
            }
        }
    }

    private func publishEvent(_ topic: String, _ bytes: [UInt8], call: OpaquePointer?,
                              context: EventContext) async throws(PluginError) -> UInt64 {
        guard hostHasPublishEvent else {
            try publish(topic, json: bytes)
            return 0
        }
        return try await OneShot<UInt64>.wait { waiter throws(PluginError) in
            let token = waiter.retained
            let status = try context.withContext { (context) throws(PluginError) -> kn_status in
                var options = kn_publish_options()
                options.struct_size = UInt32(MemoryLayout<kn_publish_options>.size)
                options.call = call
                options.context = context
                return bytes.withUnsafeBufferPointer { payload in
                    host.pointee.publish_event(handle, topic, kn_bytes(ptr: payload.baseAddress, len: payload.count), &options,
                                               { token, status, offset, message in
                        let waiter = OneShot<UInt64>.take(token)
                        if status == KN_OK { waiter.resume(.success(offset)); return }
                        let text = message.map { String(cString: $0) } ?? ""
                        waiter.resume(.failure(PluginError(.init(status: status), text.isEmpty ? "cannot publish" : text)))
                    }, token)
                }
            }
            guard status == KN_OK else {
                _ = OneShot<UInt64>.take(token)
                throw PluginError(.init(status: status), "cannot publish to '\(topic)'")
            }
        }
    }
}

/// One `publish(_:jsonBatch:context:)`: each event's `user_data` is its slot
/// (the batch and the event's index), so no allocation per event.
private final class PublishBatch: @unchecked Sendable {
    private struct Slot {
        var batch: UnsafeMutableRawPointer
        var index: Int
    }
    private let slots: UnsafeMutablePointer<Slot>
    private let count: Int
    private let lock = NSLock()
    private var offsets: [UInt64]
    private var remaining: Int
    private var failure: PluginError?
    var waiter: OneShot<[UInt64]>?

    init(count: Int) {
        self.count = count
        offsets = Array(repeating: 0, count: count)
        remaining = count
        slots = .allocate(capacity: count)
        // The callbacks hold the batch until the last one.
        let retained = Unmanaged.passRetained(self).toOpaque()
        for index in 0..<count { (slots + index).initialize(to: Slot(batch: retained, index: index)) }
    }

    deinit { slots.deallocate() }

    func slot(_ index: Int) -> UnsafeMutableRawPointer { UnsafeMutableRawPointer(slots + index) }

    static func done(_ slot: UnsafeMutableRawPointer?, _ status: kn_status, _ offset: UInt64, _ message: String?) {
        let slot = slot!.assumingMemoryBound(to: Slot.self).pointee
        let batch = Unmanaged<PublishBatch>.fromOpaque(slot.batch).takeUnretainedValue()
        batch.finish(slot.index, status == KN_OK ? nil : PluginError(.init(status: status), message ?? "cannot publish"), offset)
    }

    /// An event refused before its callback was registered.
    func fail(_ index: Int, _ error: PluginError) { finish(index, error, 0) }

    private func finish(_ index: Int, _ error: PluginError?, _ offset: UInt64) {
        lock.lock()
        offsets[index] = offset
        if failure == nil, let error { failure = error }
        remaining -= 1
        let last = remaining == 0
        lock.unlock()
        guard last else { return }
        if let failure { waiter?.resume(.failure(failure)) } else { waiter?.resume(.success(offsets)) }
        Unmanaged.passUnretained(self).release()
    }
}
