import KernelSDK
import NIOCore

/// A call in flight for one HTTP request. Holds the transport's reference to
/// the kernel call (released when this object goes) so that a timeout or a
/// closed connection can cancel it.
final class PendingCall: @unchecked Sendable {
    static let none = PendingCall()

    private let call: OpaquePointer?
    private let host: UnsafePointer<kn_host_api>?
    private let loop: EventLoop?
    private let handler: NIOLoopBound<HTTPConnectionHandler>?

    private init() {
        call = nil
        host = nil
        loop = nil
        handler = nil
    }

    init(call: OpaquePointer, host: UnsafePointer<kn_host_api>, loop: EventLoop, handler: HTTPConnectionHandler) {
        self.call = call
        self.host = host
        self.loop = loop
        self.handler = NIOLoopBound(handler, eventLoop: loop)
    }

    deinit {
        if let call, let host { host.pointee.call_release(call) }
    }

    /// From the completing thread: copy the borrowed response, then hop to
    /// the event loop unless already on it.
    func complete(with response: UnsafePointer<kn_response>) {
        guard let loop, let handler, let host else { return }
        let outcome = HTTPOutcome(response, host: host)
        if loop.inEventLoop {
            handler.value.finish(self, outcome)
        } else {
            loop.execute { handler.value.finish(self, outcome) }
        }
    }

    func cancel() {
        if let call, let host { host.pointee.call_cancel(call) }
    }
}

/// A call's outcome copied out of the borrowed `kn_response`.
struct HTTPOutcome: Sendable {
    var status: kn_status
    var body: ByteBuffer
    var contentType: String
    var message: String
    var details: [UInt8]
    var headers: [(String, String)]

    init(_ response: UnsafePointer<kn_response>, host: UnsafePointer<kn_host_api>) {
        let r = response.pointee
        status = r.status
        body = ByteBuffer(bytes: UnsafeRawBufferPointer(start: r.body.ptr, count: r.body.ptr == nil ? 0 : r.body.len))
        contentType = r.content_type.map { String(cString: $0) } ?? ""
        message = r.error_message.ptr.map {
            String(decoding: UnsafeBufferPointer(start: $0, count: r.error_message.len), as: UTF8.self)
        } ?? ""
        details = r.error_details.ptr.map { Array(UnsafeBufferPointer(start: $0, count: r.error_details.len)) } ?? []
        var headers: [(String, String)] = []
        if r.meta_count > 0 {
            for index in 0..<r.meta_count {
                var key = kn_bytes()
                var value = kn_bytes()
                guard host.pointee.response_meta_at(response, index, &key, &value) else { continue }
                let name = String(decoding: UnsafeBufferPointer(start: key.ptr, count: key.len), as: UTF8.self)
                guard name.hasPrefix("header.") else { continue }
                headers.append((String(name.dropFirst(7)),
                                String(decoding: UnsafeBufferPointer(start: value.ptr, count: value.len), as: UTF8.self)))
            }
        }
        self.headers = headers
    }
}
