import KernelSDK
import NIOCore
import Synchronization

/// One call a connection started, known by the client's id. Holds the
/// transport's reference to the kernel call (given back when this goes) so
/// the connection can push items to it and cancel it.
///
/// Created and mostly used on the connection's event loop; `offer` and
/// `complete` come from the handler's threads and hop to the loop.
final class InFlightCall: @unchecked Sendable {
    let id: String
    let isStream: Bool
    let call: OpaquePointer
    private let host: UnsafePointer<kn_host_api>
    private let loop: EventLoop
    private let multiplexer: NIOLoopBound<CallMultiplexer>
    private let life: ServerLife
    /// Items accepted from the handler and not yet written to the socket.
    let queued = Atomic<Int>(0)
    private let queueLimit: Int
    /// The client ended its items (`end`); later items are refused.
    var clientEnded = false

    init(id: String, isStream: Bool, call: OpaquePointer, host: UnsafePointer<kn_host_api>, multiplexer: CallMultiplexer,
         queueLimit: Int, life: ServerLife) {
        self.id = id
        self.isStream = isStream
        self.call = call
        self.host = host
        self.loop = multiplexer.loop
        self.multiplexer = NIOLoopBound(multiplexer, eventLoop: multiplexer.loop)
        self.queueLimit = queueLimit
        self.life = life
    }

    deinit { host.pointee.call_release(call) }

    /// The callbacks for `call_dispatch`; `user_data` holds one retain of
    /// this object, given back by `on_complete`.
    func callbacks() -> kn_call_callbacks {
        var callbacks = kn_call_callbacks()
        callbacks.struct_size = UInt32(MemoryLayout<kn_call_callbacks>.size)
        callbacks.user_data = Unmanaged.passRetained(self).toOpaque()
        callbacks.on_complete = { userData, response in
            let call = Unmanaged<InFlightCall>.fromOpaque(userData!).takeRetainedValue()
            call.complete(CallResult(response!, host: call.host))
        }
        callbacks.on_item = { userData, item in
            Unmanaged<InFlightCall>.fromOpaque(userData!).takeUnretainedValue().offer(item)
        }
        return callbacks
    }

    /// An item from the handler (its thread). Refused when the stream's
    /// queue is full: the bounded queue is the backpressure policy.
    private func offer(_ item: kn_bytes) -> Bool {
        guard life.isRunning else { return false }
        guard queued.add(1, ordering: .relaxed).newValue <= queueLimit else {
            queued.subtract(1, ordering: .relaxed)
            return false
        }
        var buffer = ByteBufferAllocator().buffer(capacity: item.len + id.utf8.count + 40)
        ServerMessage.item(id: id, payload: UnsafeRawBufferPointer(start: item.ptr, count: item.ptr == nil ? 0 : item.len),
                           into: &buffer)
        if loop.inEventLoop {
            multiplexer.value.write(item: buffer, of: self)
        } else {
            let message = buffer
            loop.execute { self.multiplexer.value.write(item: message, of: self) }
        }
        return true
    }

    private func complete(_ result: CallResult) {
        guard life.isRunning else { return }
        if loop.inEventLoop {
            multiplexer.value.finish(self, result)
        } else {
            loop.execute { self.multiplexer.value.finish(self, result) }
        }
    }

    // MARK: Client side (event loop)

    /// A client item (never empty: it is a JSON value; empty means "end", below).
    func push(_ payload: ByteBuffer) -> kn_status {
        payload.withUnsafeReadableBytes { bytes in
            host.pointee.call_push(call, kn_bytes(ptr: bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), len: bytes.count))
        }
    }

    /// The client half-closes: the convention is one empty item.
    func pushEnd() -> kn_status { host.pointee.call_push(call, kn_bytes(ptr: nil, len: 0)) }

    func cancel() { host.pointee.call_cancel(call) }
}

/// A call's outcome copied out of the borrowed `kn_response`.
struct CallResult: Sendable {
    var status: kn_status
    var body: ByteBuffer
    var contentType: String
    var message: String
    var details: [UInt8]
    /// Response metadata `header.<name>`, without the prefix.
    var meta: [(String, String)]

    init(_ response: UnsafePointer<kn_response>, host: UnsafePointer<kn_host_api>) {
        let r = response.pointee
        status = r.status
        body = ByteBuffer(bytes: UnsafeRawBufferPointer(start: r.body.ptr, count: r.body.ptr == nil ? 0 : r.body.len))
        contentType = r.content_type.map { String(cString: $0) } ?? ""
        message = Self.text(r.error_message)
        details = r.error_details.ptr.map { Array(UnsafeBufferPointer(start: $0, count: r.error_details.len)) } ?? []
        var meta: [(String, String)] = []
        for index in 0..<r.meta_count {
            var key = kn_bytes()
            var value = kn_bytes()
            guard host.pointee.response_meta_at(response, index, &key, &value) else { continue }
            let name = Self.text(key)
            if name.hasPrefix("header.") { meta.append((String(name.dropFirst(7)), Self.text(value))) }
        }
        self.meta = meta
    }

    private static func text(_ bytes: kn_bytes) -> String {
        guard let ptr = bytes.ptr else { return "" }
        return String(decoding: UnsafeBufferPointer(start: ptr, count: bytes.len), as: UTF8.self)
    }
}
