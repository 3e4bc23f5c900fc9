import KernelSDK
import KernelTransport
import NIOCore
import NIOHTTP1

/// Writing answers: a whole response, or a stream of items ended by the
/// call's outcome. On the connection's event loop.
extension HTTPConnectionHandler {
    /// The call completed.
    func finish(_ call: HTTPCall, _ outcome: CallOutcome) {
        switch state {
        case .waiting(let head, let current, _) where current === call:
            if let failure = outcome.failure {
                // The body is the transport's JSON error, whatever type the handler meant for its result (or stream).
                write(head, status: .init(statusCode: failure.code.httpStatus), contentType: "application/json",
                      body: failure.jsonBody(), extra: outcome.headers.filter { $0.name.lowercased() != "content-type" })
            } else if ResponseShaping.isPreflight(head) {
                write(head, status: .noContent, contentType: "", body: ByteBuffer(), extra: outcome.headers)
            } else if ResponseShaping.isNotModified(head, outcome.headers) {
                write(head, status: .notModified, contentType: "", body: ByteBuffer(), extra: outcome.headers)
            } else if let compressed = ResponseShaping.compress(outcome.body, contentType: outcome.contentType,
                                                                 headers: outcome.headers, request: head,
                                                                 minimumSize: settings.compressMinSize) {
                write(head, status: .ok, contentType: outcome.contentType, body: compressed.body, extra: compressed.headers)
            } else {
                write(head, status: .ok, contentType: outcome.contentType, body: outcome.body, extra: outcome.headers)
            }
        case .streaming(let head, let current, let format, _) where current === call:
            var last = ByteBuffer()
            format.end(result: outcome.body, failure: outcome.failure, into: &last)
            endStream(head, last)
        default:
            break // answered before (timeout), or the connection is closing
        }
    }

    /// A stream item: the first one sends the response head.
    func write(item: ByteBuffer, of call: HTTPCall) {
        guard let context else { return call.itemWritten() }
        let head: HTTPRequestHead
        let format: StreamFormat
        let sent: Int
        switch state {
        case .waiting(let waitingHead, let current, let waitingFormat) where current === call:
            // The handler chose its framing before this item, or left it to the request's Accept.
            (head, format, sent) = (waitingHead, call.rawContentType.map { .raw(contentType: $0) } ?? waitingFormat, 0)
            startStream(head, format, context: context)
        case .streaming(let streamingHead, let current, let streamingFormat, let count) where current === call:
            (head, format, sent) = (streamingHead, streamingFormat, count)
        default:
            return call.itemWritten()
        }
        state = .streaming(head, call, format, sent: sent + 1)
        let buffer: ByteBuffer
        if case .raw = format {
            buffer = item // framed by the handler: no copy
        } else {
            var framed = context.channel.allocator.buffer(capacity: item.readableBytes + 24)
            format.item(item, sequence: sent + 1, into: &framed)
            buffer = framed
        }
        // The item's place in the queue frees when the socket took the bytes, so a slow reader holds the handler.
        let promise = context.eventLoop.makePromise(of: Void.self)
        promise.futureResult.whenComplete { _ in call.itemWritten() }
        context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: promise)
    }

    private func startStream(_ head: HTTPRequestHead, _ format: StreamFormat, context: ChannelHandlerContext) {
        // A stream runs as long as its handler: the request timeout covered its start.
        requestStarted = nil
        var headers = HTTPHeaders()
        headers.add(name: "content-type", value: format.contentType)
        headers.add(name: "cache-control", value: "no-cache")
        // Without chunked encoding (HTTP/1.0) the end of the body is the end of the connection.
        if !head.isKeepAlive || quiescing || head.version.minor == 0 { headers.add(name: "connection", value: "close") }
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: .ok, headers: headers))), promise: nil)
    }

    private func endStream(_ head: HTTPRequestHead, _ last: ByteBuffer) {
        guard let context else { return }
        let close = !head.isKeepAlive || quiescing || head.version.minor == 0
        state = close ? .closing : .idle
        if last.readableBytes > 0 { context.write(wrapOutboundOut(.body(.byteBuffer(last))), promise: nil) }
        let done = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if close {
            let channel = context.channel
            done.whenComplete { _ in channel.close(promise: nil) }
        }
    }

    /// A whole response. The transport owns the framing: a plugin's
    /// content-type replaces the default, its content-length, connection or
    /// transfer-encoding are dropped.
    func write(_ head: HTTPRequestHead, status: HTTPResponseStatus, contentType: String, body: ByteBuffer,
               extra: [(name: String, value: String)]) {
        guard let context else { return }
        requestStarted = nil
        let close = !head.isKeepAlive || quiescing
        var headers = HTTPHeaders()
        headers.reserveCapacity(3 + extra.count)
        var type = contentType.isEmpty ? "application/json" : contentType
        for (name, value) in extra {
            switch Self.framingHeader(name) {
            case .contentType: type = value
            case .framing: continue
            case nil: headers.add(name: name, value: value)
            }
        }
        // 204 and 304 carry no body and say nothing of one (RFC 9110 8.6, 15.4.5).
        let bodiless = status == .noContent || status == .notModified
        if !bodiless {
            headers.add(name: "content-type", value: type)
            headers.add(name: "content-length", value: String(body.readableBytes))
        }
        if close { headers.add(name: "connection", value: "close") }
        state = close ? .closing : .idle
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: status, headers: headers))), promise: nil)
        if head.method != .HEAD && !bodiless { context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil) }
        if close {
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
        } else {
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        }
    }

    enum FramingHeader { case contentType, framing }

    /// Whether a plugin's header is one the transport owns, compared without
    /// making a lower-case copy (a dozen headers per answer go through here).
    static func framingHeader(_ name: String) -> FramingHeader? {
        let bytes = name.utf8
        guard [10, 12, 14, 17].contains(bytes.count) else { return nil }
        func equals(_ target: StaticString) -> Bool {
            bytes.count == target.utf8CodeUnitCount
                && zip(bytes, UnsafeBufferPointer(start: target.utf8Start, count: target.utf8CodeUnitCount)).allSatisfy { $0 | 0x20 == $1 }
        }
        if equals("content-type") { return .contentType }
        if equals("content-length") || equals("connection") || equals("transfer-encoding") || equals("keep-alive") { return .framing }
        return nil
    }

    /// An error answer the transport makes itself (limits, parse errors, no route).
    func sendError(_ error: PluginError, status: HTTPResponseStatus? = nil, version: HTTPVersion, close: Bool) {
        var head = HTTPRequestHead(version: version, method: .GET, uri: "/")
        if close {
            head.headers.add(name: "connection", value: "close")
            quiescing = true
        }
        let failure = CallOutcome.Failure(code: error.code, message: error.message, details: error.detailsJSON)
        write(head, status: status ?? .init(statusCode: error.code.httpStatus), contentType: "application/json",
              body: failure.jsonBody(), extra: [])
    }
}
