import Synchronization

/// Streaming endpoints: a handler that sends many items (server stream), or
/// that also receives the client's items (bidirectional). They are served
/// over ws and tcp (Protocols/ws-envelope.md); over HTTP a send fails with
/// `invalid_argument`.
///
/// The handler runs as a task. When it returns, the stream ends with the
/// result `{}`; when it throws, the stream fails with that error. When the
/// client cancels or disconnects, the task is cancelled (`send` and the
/// incoming sequence throw `CancellationError`) and the call ends as
/// `cancelled`.
extension PluginContext {
    /// How many client items a bidirectional handler may leave unread; past
    /// it the stream fails with `unavailable` (the SDK never buffers without bound).
    public static let maxUnreadItems = 1_024

    /// A server-streaming endpoint: one request, then items.
    ///
    /// ```swift
    /// kernel.stream("ticker") { (request: TickerRequest, stream: ServerStream<Tick>) async throws in
    ///     for n in 1...request.count { try await stream.send(Tick(n: n)) }
    /// }
    /// ```
    public func stream<Request: Decodable & SendableMetatype, Item: Encodable & SendableMetatype>(
        _ name: String, description: String = "",
        _ handler: @escaping @Sendable (Request, ServerStream<Item>) async throws -> Void
    ) {
        registerStream(name, description, kind: KN_ENDPOINT_SERVER_STREAM) { context, _ in
            try await handler(try context.decode(Request.self), ServerStream(context))
        }
    }

    /// A bidirectional endpoint: one request, then items both ways. The
    /// incoming sequence ends when the client ends its side.
    public func bidiStream<Request: Decodable & SendableMetatype, Incoming: Decodable & Sendable,
                           Item: Encodable & SendableMetatype>(
        _ name: String, description: String = "",
        _ handler: @escaping @Sendable (Request, IncomingItems<Incoming>, ServerStream<Item>) async throws -> Void
    ) {
        registerStream(name, description, kind: KN_ENDPOINT_BIDI_STREAM) { context, channel in
            try await handler(try context.decode(Request.self), IncomingItems(channel: channel), ServerStream(context))
        }
    }

    private func registerStream(_ name: String, _ description: String, kind: Int32,
                                _ run: @escaping @Sendable (RequestContext, ItemChannel) async throws -> Void) {
        let endpoint = StreamEndpoint(host: host, run: run)
        var def = kn_endpoint_def()
        def.struct_size = UInt32(MemoryLayout<kn_endpoint_def>.size)
        def.kind = UInt32(kind)
        def.user_data = Unmanaged.passRetained(endpoint).toOpaque()
        def.release = { userData in Unmanaged<StreamEndpoint>.fromOpaque(userData!).release() }
        def.handler = { userData, call in StreamEndpoint.from(userData).begin(call!) }
        def.on_item = { userData, call, item in StreamEndpoint.from(userData).receive(item, for: call!) }
        def.on_cancel = { userData, call in StreamEndpoint.from(userData).cancel(call!) }
        let status = name.withCString { name in
            description.withCString { description in
                def.name = name
                def.description = description
                return host.pointee.register_endpoint(handle, &def)
            }
        }
        check(status, "stream endpoint '\(name)'")
    }
}

/// A streaming endpoint's registration: runs each call as a task and routes
/// the transport's items and cancellations to it. Calls are looked up by
/// their handle under a lock, so an item or a cancel that races the end of
/// a call finds nothing instead of freed state.
final class StreamEndpoint: @unchecked Sendable {
    private let host: UnsafePointer<kn_host_api>
    private let run: @Sendable (RequestContext, ItemChannel) async throws -> Void
    private let calls = Mutex<[Int: ItemChannel]>([:])

    init(host: UnsafePointer<kn_host_api>, run: @escaping @Sendable (RequestContext, ItemChannel) async throws -> Void) {
        self.host = host
        self.run = run
    }

    static func from(_ pointer: UnsafeMutableRawPointer?) -> StreamEndpoint {
        Unmanaged<StreamEndpoint>.fromOpaque(pointer!).takeUnretainedValue()
    }

    /// The kernel's handler call (caller's thread): starts the task. Only the
    /// task completes the call, so the handle stays valid while it runs.
    func begin(_ call: OpaquePointer) {
        let context = RequestContext(host: host, call: call)
        let channel = ItemChannel()
        let key = Int(bitPattern: call)
        calls.withLock { $0[key] = channel }
        let task = Task { [self] in
            var failure: (any Error)?
            do {
                try await run(context, channel)
            } catch {
                failure = error
            }
            // Forget the call before completing it: after completion its handle may be reused.
            _ = calls.withLock { $0.removeValue(forKey: key) }
            if let overflow = channel.overflow {
                context.fail(overflow)
            } else if channel.isCancelled || failure is CancellationError {
                context.fail(PluginError(.cancelled, "stream cancelled"))
            } else if let failure {
                context.fail(failure)
            } else {
                context.respond(Array("{}".utf8))
            }
        }
        channel.attach(task)
    }

    /// A client item (transport's thread, in order). An empty item is the
    /// client's end of input, by the transports' convention.
    func receive(_ item: kn_bytes, for call: OpaquePointer) {
        guard let channel = calls.withLock({ $0[Int(bitPattern: call)] }) else { return }
        guard let pointer = item.ptr, item.len > 0 else {
            channel.finish()
            return
        }
        if !channel.deliver(Array(UnsafeBufferPointer(start: pointer, count: item.len)), limit: PluginContext.maxUnreadItems) {
            channel.cancel(because: PluginError(.unavailable,
                                                "more than \(PluginContext.maxUnreadItems) client items unread by the handler"))
        }
    }

    func cancel(_ call: OpaquePointer) {
        calls.withLock { $0[Int(bitPattern: call)] }?.cancel()
    }
}
