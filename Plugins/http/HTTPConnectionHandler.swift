import KernelSDK
import NIOCore
import NIOHTTP1

/// One HTTP connection: collects a request within the limits, turns it into
/// a kernel call, and writes the call's outcome back.
///
/// Runs on the connection's event loop. `HTTPServerPipelineHandler` ahead of
/// it holds pipelined requests back until the previous response is written,
/// so at most one request is in flight here.
final class HTTPConnectionHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    /// Sent by `HTTPServer.stop`: finish the current request, then close.
    struct Quiesce {}

    private enum State {
        case idle
        case receiving(HTTPRequestHead, ByteBuffer)
        case waiting(HTTPRequestHead, PendingCall)
        /// An error answer went out; everything until the connection closes is ignored.
        case closing
    }

    private let settings: HTTPSettings
    private let kernel: PluginContext
    private var state = State.idle
    private var quiescing = false
    /// When the current request's head arrived; a per-connection timer checks it
    /// (one timer per connection, not one per request, keeps the hot path free of timers).
    private var requestStarted: NIODeadline?
    private var timer: RepeatedTask?
    private var context: ChannelHandlerContext?

    init(settings: HTTPSettings, kernel: PluginContext) {
        self.settings = settings
        self.kernel = kernel
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        let timeout = Int64(settings.requestTimeoutMilliseconds)
        let tick = TimeAmount.milliseconds(max(10, min(1_000, timeout / 4)))
        let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleRepeatedTask(initialDelay: tick, delay: tick) { _ in
            handler.value.checkTimeout()
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        self.context = nil
    }

    // MARK: Reading

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch (unwrapInboundIn(data), state) {
        case (.head(let head), .idle):
            if let problem = checkHead(head) {
                sendError(problem.status, problem.code, problem.message, version: head.version, close: true)
                return
            }
            let expected = head.headers.first(name: "content-length").flatMap(Int.init) ?? 0
            state = .receiving(head, context.channel.allocator.buffer(capacity: min(expected, settings.maxBodySize)))
            requestStarted = .now()
        case (.body(var chunk), .receiving(let head, var body)):
            guard body.readableBytes + chunk.readableBytes <= settings.maxBodySize else {
                sendError(.payloadTooLarge, "too_large", "request body exceeds \(settings.maxBodySize) bytes",
                          version: head.version, close: true)
                return
            }
            state = .idle // drop the reference so the append does not copy
            body.writeBuffer(&chunk)
            state = .receiving(head, body)
        case (.end, .receiving(let head, let body)):
            dispatch(head, body, context: context)
        default:
            break // .closing, or parts of a request already answered
        }
    }

    private func checkHead(_ head: HTTPRequestHead) -> (status: HTTPResponseStatus, code: String, message: String)? {
        let headerBytes = head.uri.utf8.count + head.headers.reduce(0) { $0 + $1.name.utf8.count + $1.value.utf8.count + 4 }
        if headerBytes > settings.maxHeaderSize {
            return (.requestHeaderFieldsTooLarge, "too_large", "request headers exceed \(settings.maxHeaderSize) bytes")
        }
        if let length = head.headers.first(name: "content-length").flatMap(Int.init), length > settings.maxBodySize {
            return (.payloadTooLarge, "too_large", "request body exceeds \(settings.maxBodySize) bytes")
        }
        return nil
    }

    // MARK: Dispatch

    private func dispatch(_ head: HTTPRequestHead, _ body: ByteBuffer, context: ChannelHandlerContext) {
        let uri = head.uri
        let queryStart = uri.firstIndex(of: "?")
        let path = String(uri[..<(queryStart ?? uri.endIndex)])

        if path == "/healthz" && (head.method == .GET || head.method == .HEAD) {
            state = .waiting(head, PendingCall.none)
            write(head, status: .ok, contentType: "application/json", body: ByteBuffer(string: #"{"status":"ok"}"#), extra: [])
            return
        }

        let host = kernel.host.pointee
        guard let call = host.call_new(kernel.handle, "http") else {
            sendError(.internalServerError, "internal", "cannot create a call", version: head.version, close: true)
            return
        }
        if path.hasPrefix("/api/") {
            guard head.method == .POST else {
                host.call_release(call)
                sendError(.methodNotAllowed, "method_not_allowed", "endpoints are called with POST", version: head.version, close: false)
                return
            }
            _ = host.call_set_endpoint(call, String(path.dropFirst(5)))
        } else {
            let status = host.call_set_route(call, head.method.rawValue, path)
            guard status == KN_OK else {
                host.call_release(call)
                let notAllowed = status == KN_ERR_METHOD_NOT_ALLOWED
                sendError(notAllowed ? .methodNotAllowed : .notFound, notAllowed ? "method_not_allowed" : "not_found",
                          notAllowed ? "\(head.method.rawValue) is not allowed on \(path)" : "no route for \(head.method.rawValue) \(path)",
                          version: head.version, close: false)
                return
            }
        }

        body.withUnsafeReadableBytes { bytes in
            _ = host.call_set_body(call, kn_bytes(ptr: bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), len: bytes.count),
                                   head.headers.first(name: "content-type") ?? "application/json")
        }
        setMeta(call, "http.method", head.method.rawValue)
        setMeta(call, "http.path", path)
        if let queryStart { setMeta(call, "http.query", String(uri[uri.index(after: queryStart)...])) }
        if let peer = context.channel.remoteAddress, let ip = peer.ipAddress {
            setMeta(call, "peer", "\(ip):\(peer.port ?? 0)")
        }
        for (name, value) in head.headers {
            setMeta(call, "header.\(name.lowercased())", value)
        }

        let pending = PendingCall(call: call, host: kernel.host, loop: context.eventLoop, handler: self)
        state = .waiting(head, pending)
        var callbacks = kn_call_callbacks()
        callbacks.struct_size = UInt32(MemoryLayout<kn_call_callbacks>.size)
        callbacks.user_data = Unmanaged.passRetained(pending).toOpaque()
        callbacks.on_complete = { userData, response in
            let pending = Unmanaged<PendingCall>.fromOpaque(userData!).takeRetainedValue()
            pending.complete(with: response!)
        }
        host.call_dispatch(call, &callbacks)
    }

    private func setMeta(_ call: OpaquePointer, _ key: String, _ value: String) {
        var value = value
        value.withUTF8 { _ = kernel.host.pointee.call_meta_set(call, key, kn_bytes(ptr: $0.baseAddress, len: $0.count)) }
    }

    /// The call completed (on the event loop).
    func finish(_ pending: PendingCall, _ outcome: HTTPOutcome) {
        guard case .waiting(let head, let current) = state, current === pending else { return } // timed out before
        if outcome.status == KN_OK {
            write(head, status: .ok, contentType: outcome.contentType, body: outcome.body, extra: outcome.headers)
        } else {
            write(head, status: HTTPStatusMapping.status(for: outcome.status), contentType: "application/json",
                  body: HTTPStatusMapping.errorBody(status: outcome.status, message: outcome.message, details: outcome.details),
                  extra: outcome.headers)
        }
    }

    private func checkTimeout() {
        guard let requestStarted,
              NIODeadline.now() - requestStarted >= .milliseconds(Int64(settings.requestTimeoutMilliseconds)) else { return }
        self.requestStarted = nil
        guard case .waiting(let head, let pending) = state else {
            if case .receiving(let head, _) = state {
                sendError(.requestTimeout, "timeout", "request not received within \(settings.requestTimeoutMilliseconds) ms",
                          version: head.version, close: true)
            }
            return
        }
        // Answer first: the state leaves .waiting, so a completion that the
        // cancel triggers inline is ignored instead of writing a second response.
        sendError(.gatewayTimeout, "timeout", "no response within \(settings.requestTimeoutMilliseconds) ms",
                  version: head.version, close: true)
        pending.cancel()
    }

    // MARK: Writing

    private func write(_ head: HTTPRequestHead, status: HTTPResponseStatus, contentType: String, body: ByteBuffer,
                       extra: [(String, String)]) {
        guard let context else { return }
        requestStarted = nil
        let close = !head.isKeepAlive || quiescing
        var headers = HTTPHeaders()
        headers.reserveCapacity(3 + extra.count)
        // Framing is the transport's: a plugin's content-type replaces the
        // default, its content-length, connection or transfer-encoding are dropped.
        var type = contentType.isEmpty ? "application/json" : contentType
        for (name, value) in extra {
            switch name.lowercased() {
            case "content-type": type = value
            case "content-length", "connection", "transfer-encoding", "keep-alive": continue
            default: headers.add(name: name, value: value)
            }
        }
        headers.add(name: "content-type", value: type)
        headers.add(name: "content-length", value: String(body.readableBytes))
        if close { headers.add(name: "connection", value: "close") }
        state = close ? .closing : .idle
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: status, headers: headers))), promise: nil)
        if head.method != .HEAD { context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil) }
        if close {
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
        } else {
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        }
    }

    private func sendError(_ status: HTTPResponseStatus, _ code: String, _ message: String, version: HTTPVersion, close: Bool) {
        var head = HTTPRequestHead(version: version, method: .GET, uri: "/")
        if close { head.headers.add(name: "connection", value: "close") }
        if close { quiescing = true }
        write(head, status: status, contentType: "application/json",
              body: HTTPStatusMapping.errorBody(code: code, message: message, details: []), extra: [])
    }

    // MARK: Events

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is Quiesce {
            // The next response says `connection: close`. An idle connection
            // gets a grace period first: its client may be sending a request
            // right now, and closing under it would fail that request.
            quiescing = true
            context.eventLoop.assumeIsolated().scheduleTask(
                in: .milliseconds(Int64(settings.quiesceGraceMilliseconds))
            ) { [weak self] in
                guard let self, case .idle = self.state else { return }
                self.context?.close(promise: nil)
            }
        } else if let idle = event as? IdleStateHandler.IdleStateEvent, idle == .all {
            if case .idle = state { context.close(promise: nil) }
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        if let parserError = error as? HTTPParserError {
            switch state {
            case .idle, .receiving:
                let tooLarge = parserError == .headerOverflow
                sendError(tooLarge ? .requestHeaderFieldsTooLarge : .badRequest, tooLarge ? "too_large" : "invalid_argument",
                          tooLarge ? "request headers too large" : "malformed HTTP request: \(parserError)",
                          version: .http1_1, close: true)
            default:
                context.close(promise: nil)
            }
            return
        }
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        let waiting: PendingCall? = if case .waiting(_, let pending) = state { pending } else { nil }
        state = .closing
        waiting?.cancel()
        context.fireChannelInactive()
    }
}
