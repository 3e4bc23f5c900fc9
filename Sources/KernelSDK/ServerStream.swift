import CKernelABI

/// The handler's side of a streaming call: items go to the caller, in order.
///
/// ```swift
/// kernel.stream("ticker") { (request: TickerRequest, stream: ServerStream<Tick>) async throws in
///     for n in 1...request.count { try await stream.send(Tick(n: n)) }
/// }
/// ```
///
/// Backpressure: each transport keeps a bounded queue per stream
/// (`stream_queue`). When it is full, `send` suspends until the transport
/// says it has room again; a slow client slows the handler down instead of
/// growing memory. Nothing polls.
///
/// Threading: use it from the handler's task; sends must not race each
/// other, or their order is lost. When the client cancels or goes away, the
/// task is cancelled and `send` throws `cancelled`.
public struct ServerStream<Item: Encodable>: Sendable {
    /// The call: metadata, headers, protocol.
    public let request: RequestContext
    let task: CallTask

    init(_ request: RequestContext, _ task: CallTask) {
        self.request = request
        self.task = task
    }

    /// Sends one item; suspends while the caller's queue is full.
    public func send(_ item: Item) async throws(PluginError) {
        let bytes = try JSON.encode(item, what: "stream item")
        while true {
            let generation = task.readyGeneration
            if try offer(bytes) { return }
            await task.waitForReady(after: generation)
        }
    }

    /// Sends one item if the caller's queue has room; false when it is full.
    public func trySend(_ item: Item) throws(PluginError) -> Bool { try offer(try JSON.encode(item, what: "stream item")) }

    /// Sends one item that is JSON already (encoded once, sent to many
    /// streams); suspends while the caller's queue is full.
    public func send(json bytes: [UInt8]) async throws(PluginError) {
        while true {
            let generation = task.readyGeneration
            if try offer(bytes) { return }
            await task.waitForReady(after: generation)
        }
    }

    /// Sends one item that is JSON already if the caller's queue has room; false when it is full.
    public func trySend(json bytes: [UInt8]) throws(PluginError) -> Bool { try offer(bytes) }

    private func offer(_ bytes: [UInt8]) throws(PluginError) -> Bool {
        if Task.isCancelled || task.isCancelled { throw PluginError(.cancelled, "stream cancelled") }
        let status = bytes.withUnsafeBufferPointer {
            request.host.pointee.call_send(request.call, kn_bytes(ptr: $0.baseAddress, len: $0.count))
        }
        switch status {
        case KN_OK: return true
        case KN_ERR_UNAVAILABLE: return false
        case KN_ERR_CANCELLED: throw PluginError(.cancelled, "stream cancelled")
        case KN_ERR_INVALID_ARGUMENT:
            throw PluginError(.invalidArgument, "the caller (\(request.protocolName)) does not take stream items")
        default: throw PluginError(.init(status: status), "cannot send a stream item")
        }
    }
}

/// The items a client sends on a bidirectional stream, decoded, in order.
///
/// ```swift
/// kernel.bidiStream("chat") { (_: Empty, incoming: IncomingItems<Line>, stream: ServerStream<Line>) async throws in
///     for try await line in incoming { try await stream.send(line) }
/// }
/// ```
///
/// The sequence finishes when the client ends its side (`end` on ws and
/// tcp; at once over HTTP, which has no client items). It throws
/// `cancelled` when the stream is cancelled, and `invalidArgument` for an
/// item that does not decode. Items the handler has not read yet are
/// buffered up to `PluginContext.maxUnreadItems`; past it the call fails
/// with `unavailable`.
///
/// Threading: iterate it from one task (the handler's).
public struct IncomingItems<Item: Decodable & Sendable>: AsyncSequence, Sendable {
    public typealias Element = Item
    let task: CallTask

    public struct AsyncIterator: AsyncIteratorProtocol {
        var raw: AsyncThrowingStream<[UInt8], Error>.AsyncIterator?
        let task: CallTask

        public mutating func next() async throws(PluginError) -> Item? {
            let bytes: [UInt8]?
            do {
                bytes = try await raw?.next()
            } catch {
                throw PluginError(.cancelled, "stream cancelled")
            }
            guard let bytes else { return nil }
            task.unread.subtract(1, ordering: .relaxed)
            return try JSON.decode(Item.self, from: bytes, what: "stream item", code: .invalidArgument)
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(raw: task.items?.makeAsyncIterator(), task: task)
    }
}

/// Streaming endpoints: a handler that sends many items (server stream), or
/// that also receives the client's items (bidirectional). All three core
/// transports carry them: ws and tcp as envelope items, HTTP as
/// Server-Sent Events or newline-delimited JSON.
///
/// The handler runs as a task. When it returns, the stream ends with the
/// result `{}`; when it throws, the stream fails with that error. When the
/// client cancels or disconnects, the task is cancelled and the call ends
/// as `cancelled`.
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
        registerStream(name, description, kind: KN_ENDPOINT_SERVER_STREAM) { request, task in
            try await handler(try request.decode(Request.self), ServerStream(request, task))
        }
    }

    /// A bidirectional endpoint: one request, then items both ways.
    ///
    /// ```swift
    /// kernel.bidiStream("chat") { (_: Empty, incoming: IncomingItems<Line>, stream: ServerStream<Line>) async throws in
    ///     for try await line in incoming { try await stream.send(line) }
    /// }
    /// ```
    public func bidiStream<Request: Decodable & SendableMetatype, Incoming: Decodable & Sendable,
                           Item: Encodable & SendableMetatype>(
        _ name: String, description: String = "",
        _ handler: @escaping @Sendable (Request, IncomingItems<Incoming>, ServerStream<Item>) async throws -> Void
    ) {
        registerStream(name, description, kind: KN_ENDPOINT_BIDI_STREAM) { request, task in
            try await handler(try request.decode(Request.self), IncomingItems(task: task), ServerStream(request, task))
        }
    }

    private func registerStream(_ name: String, _ description: String, kind: Int32,
                                _ run: @escaping @Sendable (RequestContext, CallTask) async throws -> Void) {
        let endpoint = TaskEndpoint(host: host, takesItems: kind == KN_ENDPOINT_BIDI_STREAM) { request, task in
            try await run(request, task)
            return .empty
        }
        var def = kn_endpoint_def()
        def.struct_size = UInt32(MemoryLayout<kn_endpoint_def>.size)
        def.kind = UInt32(kind)
        def.user_data = Unmanaged.passRetained(endpoint).toOpaque()
        def.release = { userData in Unmanaged<TaskEndpoint>.fromOpaque(userData!).release() }
        def.handler = { userData, call in TaskEndpoint.from(userData).begin(call!) }
        def.on_item = { userData, call, item in TaskEndpoint.from(userData).receive(item, for: call!) }
        def.on_cancel = { userData, call in TaskEndpoint.from(userData).cancel(call!) }
        def.on_ready = { userData, call in TaskEndpoint.from(userData).ready(call!) }
        register(&def, name, description, "stream endpoint")
    }
}
