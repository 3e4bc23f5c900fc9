import CKernelABI
import KernelSDK
import NIOCore
import Synchronization

/// One call a transport starts for its client: target it, give it a body
/// and metadata, start it, then receive stream items and the outcome.
/// Subclass it to say where items and the outcome go.
///
/// ```swift
/// final class PendingRequest: TransportCall, @unchecked Sendable {
///     override func completed(_ outcome: CallOutcome) { loop.execute { handler.write(outcome) } }
///     override func deliver(item: ByteBuffer) { loop.execute { handler.write(item) { self.itemWritten() } } }
/// }
/// let call = try PendingRequest(kernel, protocol: "myproto", streamQueue: 64)
/// call.target(endpoint: "greet")
/// call.setBody(bytes, contentType: "application/json")
/// call.setMeta("peer", "10.0.0.7:51234")
/// call.start()
/// ```
///
/// Backpressure: at most `streamQueue` items are delivered and not yet
/// given back with `itemWritten()`; past it the handler's send is refused
/// and waits, and `itemWritten()` wakes it (`call_ready`). Nothing polls.
///
/// Threading: set it up and `start` it from one thread. `completed` and
/// `deliver(item:)` run on the thread that completed the call or sent the
/// item (any thread, possibly inside `start`); `push`, `endItems` and
/// `cancel` from one thread at a time; `itemWritten` from any thread.
/// The object keeps the kernel call (`kn_call`) until it is freed.
open class TransportCall: @unchecked Sendable {
    private let host: UnsafePointer<kn_host_api>
    private let call: OpaquePointer
    private let streamQueue: Int
    /// Items delivered and not yet written.
    private let queued = Atomic<Int>(0)
    /// An item was refused since the last `call_ready`.
    private let refused = Atomic<Bool>(false)
    /// The kernel has `call_ready` (ABI 1.1); an older one signals by itself.
    private let canSignalReady: Bool
    /// The kernel has `call_response_meta_get` (ABI 1.3).
    private let canReadResponseMeta: Bool

    /// A new call from `kernel`'s transport, named `protocol` in its metadata.
    public init(_ kernel: PluginContext, protocol name: String, streamQueue: Int = 64) throws(PluginError) {
        host = kernel.host
        guard let call = host.pointee.call_new(kernel.handle, name) else { throw PluginError(.internal, "cannot create a call") }
        self.call = call
        self.streamQueue = max(1, streamQueue)
        canSignalReady = kernel.hostHasCallReady
        canReadResponseMeta = kernel.hostHas(\.call_response_meta_get)
    }

    deinit { host.pointee.call_release(call) }

    // MARK: Setting up

    /// Targets an endpoint by name.
    public final func target(endpoint: String) { _ = host.pointee.call_set_endpoint(call, endpoint) }

    /// Targets the endpoint of the HTTP route matching `method` and `path`
    /// (no query). Throws `notFound` when no route matches the path,
    /// `methodNotAllowed` when one matches it with another method.
    public final func target(route method: String, path: String) throws(PluginError) {
        let status = host.pointee.call_set_route(call, method, path)
        guard status == KN_OK else {
            throw status == KN_ERR_METHOD_NOT_ALLOWED
                ? PluginError(.methodNotAllowed, "\(method) is not allowed on \(path)")
                : PluginError(.notFound, "no route for \(method) \(path)")
        }
    }

    /// The request body (copied).
    public final func setBody(_ bytes: UnsafeRawBufferPointer, contentType: String) {
        _ = host.pointee.call_set_body(call, kn_bytes(ptr: bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), len: bytes.count),
                                       contentType)
    }

    /// The request body (copied).
    public final func setBody(_ buffer: ByteBuffer, contentType: String) {
        buffer.withUnsafeReadableBytes { setBody($0, contentType: contentType) }
    }

    /// Adds request metadata (`peer`, `header.<name>`, ...; copied).
    public final func setMeta(_ key: String, _ value: String) {
        var value = value
        value.withUTF8 { _ = host.pointee.call_meta_set(call, key, kn_bytes(ptr: $0.baseAddress, len: $0.count)) }
    }

    // MARK: Running

    /// Runs the call: middleware, then the handler. `completed` runs exactly
    /// once, possibly before `start` returns. Call it once.
    public final func start() {
        var callbacks = kn_call_callbacks()
        callbacks.struct_size = UInt32(MemoryLayout<kn_call_callbacks>.size)
        callbacks.user_data = Unmanaged.passRetained(self).toOpaque()
        callbacks.on_complete = { userData, response in
            let call = Unmanaged<TransportCall>.fromOpaque(userData!).takeRetainedValue()
            call.completed(CallOutcome(response!, host: call.host))
        }
        callbacks.on_item = { userData, item in
            Unmanaged<TransportCall>.fromOpaque(userData!).takeUnretainedValue().offer(item)
        }
        host.pointee.call_dispatch(call, &callbacks)
    }

    /// The outcome (any thread). Override it; the default does nothing.
    open func completed(_ outcome: CallOutcome) {}

    /// One stream item from the handler, in order (the handler's thread).
    /// Write it, then call `itemWritten()`. The default drops it.
    open func deliver(item: ByteBuffer) { itemWritten() }

    /// Response metadata the handler has set so far (e.g. before its first
    /// item), by key. Inside `deliver(item:)`, which runs on the handler's
    /// thread. nil when absent, or when the kernel is older than ABI 1.3.
    public final func responseMeta(_ key: String) -> String? {
        var value = kn_bytes()
        guard canReadResponseMeta, host.pointee.call_response_meta_get(call, key, &value) else { return nil }
        guard let ptr = value.ptr else { return "" }
        return String(decoding: UnsafeBufferPointer(start: ptr, count: value.len), as: UTF8.self)
    }

    /// An item went out (or was dropped): its place in the queue is free.
    public final func itemWritten() {
        queued.subtract(1, ordering: .sequentiallyConsistent)
        if refused.exchange(false, ordering: .sequentiallyConsistent) && canSignalReady { host.pointee.call_ready(call) }
    }

    private func offer(_ item: kn_bytes) -> Bool {
        while true {
            if queued.add(1, ordering: .sequentiallyConsistent).newValue <= streamQueue {
                deliver(item: ByteBuffer(bytes: UnsafeRawBufferPointer(start: item.ptr, count: item.ptr == nil ? 0 : item.len)))
                return true
            }
            queued.subtract(1, ordering: .sequentiallyConsistent)
            refused.store(true, ordering: .sequentiallyConsistent)
            // A place freed between the two steps would have found `refused`
            // unset and sent no ready signal: look again instead of waiting for one.
            if queued.load(ordering: .sequentiallyConsistent) < streamQueue { continue }
            return false
        }
    }

    // MARK: Client side

    /// Passes one client item to a bidirectional handler (copied).
    /// `unavailable` while a middleware still holds the call (push again
    /// later), `invalidArgument` when the endpoint takes no items.
    public final func push(_ item: ByteBuffer) -> PluginError.Code? {
        let status = item.withUnsafeReadableBytes { bytes in
            host.pointee.call_push(call, kn_bytes(ptr: bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), len: bytes.count))
        }
        return status == KN_OK ? nil : PluginError.Code(status: status)
    }

    /// The client has no more items: the handler's incoming items end.
    @discardableResult
    public final func endItems() -> PluginError.Code? {
        let status = host.pointee.call_push(call, kn_bytes(ptr: nil, len: 0))
        return status == KN_OK ? nil : PluginError.Code(status: status)
    }

    /// Cancels the call (client gone, timeout): the handler hears it; the
    /// call still completes once, as `cancelled` unless it was done.
    public final func cancel() { host.pointee.call_cancel(call) }
}
