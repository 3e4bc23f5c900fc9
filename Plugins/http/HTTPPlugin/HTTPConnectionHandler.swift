import KernelSDK
import KernelTransport
import NIOCore
import NIOHTTP1

/// One HTTP connection: collects a request within the limits, turns it into
/// a kernel call, and writes the call's outcome (or its stream) back.
///
/// Runs on the connection's event loop. `HTTPServerPipelineHandler` ahead of
/// it holds pipelined requests back until the previous response is written,
/// so at most one request is in flight here.
final class HTTPConnectionHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    enum State {
        case idle
        case receiving(HTTPRequestHead, ByteBuffer)
        case waiting(HTTPRequestHead, HTTPCall, StreamFormat)
        /// Items went out: the response is a stream, `sent` items so far.
        case streaming(HTTPRequestHead, HTTPCall, StreamFormat, sent: Int)
        /// An error answer went out; everything until the connection closes is ignored.
        case closing
    }

    let settings: HTTPSettings
    private let kernel: PluginContext
    private let life: ServerLife
    var state = State.idle
    var quiescing = false
    /// When the current request's head arrived; a per-connection timer checks it
    /// (one timer per connection, not one per request, keeps the hot path free of timers).
    var requestStarted: NIODeadline?
    private var timer: RepeatedTask?
    var context: ChannelHandlerContext?

    init(settings: HTTPSettings, kernel: PluginContext, life: ServerLife) {
        self.settings = settings
        self.kernel = kernel
        self.life = life
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        let timeout = settings.requestTimeout.timeAmount.nanoseconds / 1_000_000
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
                sendError(problem.error, status: problem.status, version: head.version, close: true)
                return
            }
            let expected = head.headers.first(name: "content-length").flatMap(Int.init) ?? 0
            state = .receiving(head, context.channel.allocator.buffer(capacity: min(expected, settings.maxBodySize)))
            requestStarted = .now()
        case (.body(var chunk), .receiving(let head, var body)):
            guard body.readableBytes + chunk.readableBytes <= settings.maxBodySize else {
                sendError(PluginError(.tooLarge, "request body exceeds \(settings.maxBodySize) bytes"), version: head.version, close: true)
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

    private func checkHead(_ head: HTTPRequestHead) -> (error: PluginError, status: HTTPResponseStatus)? {
        let headerBytes = head.uri.utf8.count + head.headers.reduce(0) { $0 + $1.name.utf8.count + $1.value.utf8.count + 4 }
        if headerBytes > settings.maxHeaderSize {
            return (PluginError(.tooLarge, "request headers exceed \(settings.maxHeaderSize) bytes"), .requestHeaderFieldsTooLarge)
        }
        if let length = head.headers.first(name: "content-length").flatMap(Int.init), length > settings.maxBodySize {
            return (PluginError(.tooLarge, "request body exceeds \(settings.maxBodySize) bytes"), .payloadTooLarge)
        }
        return nil
    }

    // MARK: Dispatch

    private func dispatch(_ head: HTTPRequestHead, _ body: ByteBuffer, context: ChannelHandlerContext) {
        let uri = head.uri
        let queryStart = uri.firstIndex(of: "?")
        let path = String(uri[..<(queryStart ?? uri.endIndex)])

        if path == "/healthz" && (head.method == .GET || head.method == .HEAD) {
            write(head, status: .ok, contentType: "application/json", body: ByteBuffer(string: #"{"status":"ok"}"#), extra: [])
            return
        }

        // A CORS preflight goes to the endpoint the real request would reach;
        // its middleware answers it, its handler never runs (call.preflight).
        let preflightMethod = ResponseShaping.isPreflight(head) ? head.headers.first(name: "access-control-request-method") : nil
        let call: HTTPCall
        do throws(PluginError) {
            call = try HTTPCall(kernel, handler: self, loop: context.eventLoop, life: life, streamQueue: settings.streamQueue)
            if path.hasPrefix("/api/") {
                guard head.method == .POST || preflightMethod == "POST" else {
                    throw PluginError(.methodNotAllowed, "endpoints are called with POST")
                }
                call.target(endpoint: String(path.dropFirst(5)))
            } else {
                try call.target(route: preflightMethod ?? head.method.rawValue, path: path)
            }
        } catch {
            // The client's `Connection: close` (or HTTP/1.0 without keep-alive) holds for these answers too.
            sendError(error, version: head.version, close: error.code == .internal || !head.isKeepAlive)
            return
        }

        call.setBody(body, contentType: head.headers.first(name: "content-type") ?? "application/json")
        call.setMeta("http.method", head.method.rawValue)
        call.setMeta("http.path", path)
        if let queryStart { call.setMeta("http.query", String(uri[uri.index(after: queryStart)...])) }
        if let peer = context.channel.remoteAddress, let ip = peer.ipAddress {
            call.setMeta("peer", "\(ip):\(peer.port ?? 0)")
        }
        for (name, value) in head.headers {
            call.setMeta("header.\(name.lowercased())", value)
        }
        if preflightMethod != nil { call.setMeta("call.preflight", "1") }
        state = .waiting(head, call, StreamFormat(accept: head.headers.first(name: "accept")))
        call.start()
        // HTTP carries no client items: a bidirectional handler's input ends at once.
        if case .waiting(_, let current, _) = state, current === call { call.endItems() }
    }

    private func checkTimeout() {
        guard let requestStarted, NIODeadline.now() - requestStarted >= settings.requestTimeout.timeAmount else { return }
        self.requestStarted = nil
        switch state {
        case .receiving(let head, _):
            sendError(PluginError(.timeout, "request not received within \(settings.requestTimeout)"), status: .requestTimeout,
                      version: head.version, close: true)
        case .waiting(let head, let call, _):
            // Answer first: the state leaves .waiting, so a completion that the
            // cancel triggers inline is ignored instead of writing a second response.
            sendError(PluginError(.timeout, "no response within \(settings.requestTimeout)"), version: head.version, close: true)
            call.cancel()
        default:
            break
        }
    }

    // MARK: Events

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is QuiesceEvent {
            // The next response says `connection: close`. An idle connection
            // gets a grace period first: its client may be sending a request
            // right now, and closing under it would fail that request.
            quiescing = true
            context.eventLoop.assumeIsolated().scheduleTask(in: settings.quiesceGrace.timeAmount) { [weak self] in
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
                if parserError == .headerOverflow {
                    sendError(PluginError(.tooLarge, "request headers too large"), status: .requestHeaderFieldsTooLarge,
                              version: .http1_1, close: true)
                } else {
                    sendError(PluginError(.invalidArgument, "malformed HTTP request: \(parserError)"), version: .http1_1, close: true)
                }
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
        let running: HTTPCall? = switch state {
        case .waiting(_, let call, _), .streaming(_, let call, _, _): call
        default: nil
        }
        state = .closing
        running?.cancel()
        context.fireChannelInactive()
    }
}
