import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// http: one keep-alive connection; calls are `POST /api/<endpoint>`,
/// pipelined and answered in order. A stream takes a connection of its own
/// and reads the answer as newline-delimited JSON (Protocols/http-transport.md).
final class HTTPClientTransport: ClientTransport {
    private let channel: Channel
    private let host: String
    private let address: (host: String, port: Int)

    private init(channel: Channel, host: String, port: Int) {
        self.channel = channel
        self.host = "\(host):\(port)"
        self.address = (host, port)
    }

    static func connect(host: String, port: Int, group: any EventLoopGroup) async throws -> HTTPClientTransport {
        do {
            let channel = try await ClientBootstrap(group: group)
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        let sync = channel.pipeline.syncOperations
                        try sync.addHTTPClientHandlers()
                        try sync.addHandler(HTTPCallHandler())
                    }
                }
                .connect(host: host, port: port).get()
            return HTTPClientTransport(channel: channel, host: host, port: port)
        } catch {
            throw KernelClientError.closed("cannot connect to \(host):\(port): \(error)")
        }
    }

    func call(_ endpoint: String, payload: [UInt8], meta: [String: String]) async throws -> KernelResponse {
        var headers = HTTPHeaders()
        headers.add(name: "Host", value: host)
        headers.add(name: "Content-Type", value: "application/json")
        headers.add(name: "Content-Length", value: String(payload.count))
        for (name, value) in meta { headers.add(name: name, value: value) }
        let request = HTTPCallHandler.Request(
            head: HTTPRequestHead(version: .http1_1, method: .POST, uri: "/api/\(endpoint)", headers: headers),
            body: ByteBuffer(bytes: payload), answer: channel.eventLoop.makePromise())
        // A write on a closed connection fails here, and fails the answer with it.
        channel.writeAndFlush(request).whenFailure { error in
            request.answer.fail(KernelClientError.closed("the connection is closed: \(error)"))
        }
        let (head, body) = try await request.answer.futureResult.get()
        let bytes = Array(body.readableBytesView)
        var responseMeta: [String: String] = [:]
        for (name, value) in head.headers { responseMeta[name.lowercased()] = value }
        guard head.status == .ok else {
            let error = (try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])?["error"]
            let encoded = error.flatMap { try? JSONSerialization.data(withJSONObject: $0) }.map { Array($0) } ?? []
            if encoded.isEmpty {
                throw KernelClientError.call(code: "internal", message: "HTTP \(head.status.code)", details: JSONBody(Array("{}".utf8)))
            }
            throw EnvelopeSession.callError(encoded)
        }
        return KernelResponse(body: JSONBody(bytes.isEmpty ? Array("null".utf8) : bytes), meta: responseMeta)
    }

    func stream(_ endpoint: String, payload: [UInt8], meta: [String: String]) async throws -> KernelStream {
        let connection = HTTPStreamConnection()
        let stream = KernelStream { control in
            switch control {
            case .item: throw KernelClientError.unsupported("HTTP carries no client items; use ws or tcp")
            case .end: break // the server ends a bidirectional stream's input at once
            case .cancel: await connection.cancel() // the server cancels the call when its client goes
            }
        }
        let handler = HTTPStreamHandler(stream: stream, connection: connection)
        let streamChannel: Channel
        do {
            streamChannel = try await ClientBootstrap(group: channel.eventLoop)
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        let sync = channel.pipeline.syncOperations
                        try sync.addHTTPClientHandlers()
                        try sync.addHandler(handler)
                    }
                }
                .connect(host: address.host, port: address.port).get()
        } catch {
            throw KernelClientError.closed("cannot connect to \(host): \(error)")
        }
        connection.set(streamChannel)
        var headers = HTTPHeaders()
        headers.add(name: "Host", value: host)
        headers.add(name: "Content-Type", value: "application/json")
        headers.add(name: "Accept", value: "application/x-ndjson")
        headers.add(name: "Content-Length", value: String(payload.count))
        headers.add(name: "Connection", value: "close")
        for (name, value) in meta { headers.add(name: name, value: value) }
        let head = HTTPRequestHead(version: .http1_1, method: .POST, uri: "/api/\(endpoint)", headers: headers)
        streamChannel.write(HTTPClientRequestPart.head(head), promise: nil)
        streamChannel.write(HTTPClientRequestPart.body(.byteBuffer(ByteBuffer(bytes: payload))), promise: nil)
        streamChannel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
        return stream
    }

    func close() async {
        try? await channel.close()
    }
}

/// Writes requests and matches responses to them in order (HTTP/1.1 answers in request order).
private final class HTTPCallHandler: ChannelDuplexHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundIn = Request
    typealias OutboundOut = HTTPClientRequestPart

    struct Request: Sendable {
        var head: HTTPRequestHead
        var body: ByteBuffer
        var answer: EventLoopPromise<(HTTPResponseHead, ByteBuffer)>
    }

    private var waiting: CircularBuffer<EventLoopPromise<(HTTPResponseHead, ByteBuffer)>> = []
    private var head: HTTPResponseHead?
    private var body = ByteBuffer()

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let request = unwrapOutboundIn(data)
        waiting.append(request.answer)
        context.write(wrapOutboundOut(.head(request.head)), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(request.body))), promise: nil)
        context.write(wrapOutboundOut(.end(nil)), promise: promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            body.clear()
        case .body(var part):
            body.writeBuffer(&part)
        case .end:
            guard let head, !waiting.isEmpty else { return }
            self.head = nil
            waiting.removeFirst().succeed((head, body))
            body = ByteBuffer()
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        while let promise = waiting.popFirst() { promise.fail(KernelClientError.closed("the server closed the connection")) }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

/// The connection of one HTTP stream, closed to cancel it.
private final class HTTPStreamConnection: Sendable {
    private let state = Mutex<(channel: Channel?, cancelled: Bool)>((nil, false))

    func set(_ channel: Channel) {
        let cancelled = state.withLock { state in
            state.channel = channel
            return state.cancelled
        }
        if cancelled { channel.close(promise: nil) }
    }

    var isCancelled: Bool { state.withLock { $0.cancelled } }

    func cancel() async {
        let channel = state.withLock { state in
            state.cancelled = true
            return state.channel
        }
        try? await channel?.close()
    }
}

/// Reads one streamed answer: each line of a `application/x-ndjson` body is
/// an item, a last line `{"error":...}` fails the stream; any other answer
/// is the stream's result (no items) or its error.
private final class HTTPStreamHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = HTTPClientResponsePart

    private let stream: KernelStream
    private let connection: HTTPStreamConnection
    // Event loop only.
    nonisolated(unsafe) private var head: HTTPResponseHead?
    nonisolated(unsafe) private var pending = ByteBuffer()
    nonisolated(unsafe) private var failure: (any Error)?
    nonisolated(unsafe) private var heldErrorLine: [UInt8]?
    nonisolated(unsafe) private var finished = false

    init(stream: KernelStream, connection: HTTPStreamConnection) {
        self.stream = stream
        self.connection = connection
    }

    private var isLines: Bool {
        head?.status == .ok && head?.headers.first(name: "content-type")?.hasPrefix("application/x-ndjson") == true
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
        case .body(var part):
            pending.writeBuffer(&part)
            if isLines { takeLines() }
        case .end:
            let body = Array(pending.readableBytesView)
            pending.clear()
            if isLines {
                if !body.isEmpty { line(body) }
                finish(failure.map { .failure($0) } ?? .success(KernelResponse(body: JSONBody(Array("{}".utf8)), meta: meta)))
            } else if head?.status == .ok {
                finish(.success(KernelResponse(body: JSONBody(body.isEmpty ? Array("null".utf8) : body), meta: meta)))
            } else {
                let error = (try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any])?["error"]
                let encoded = error.flatMap { try? JSONSerialization.data(withJSONObject: $0) }.map { Array($0) } ?? []
                finish(.failure(encoded.isEmpty
                    ? KernelClientError.call(code: "internal", message: "HTTP \(head?.status.code ?? 0)", details: JSONBody(Array("{}".utf8)))
                    : EnvelopeSession.callError(encoded)))
            }
            context.close(promise: nil)
        }
    }

    private var meta: [String: String] {
        var meta: [String: String] = [:]
        for header in head?.headers ?? HTTPHeaders() { meta[header.name.lowercased()] = header.value }
        return meta
    }

    private func takeLines() {
        while let newline = pending.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) {
            let length = newline - pending.readerIndex
            let bytes = pending.readBytes(length: length) ?? []
            pending.moveReaderIndex(forwardBy: 1)
            line(bytes)
        }
        pending.discardReadBytes()
    }

    /// One item; a line `{"error":...}` is the stream's failure only if it
    /// is the last one (an item may look the same), so it waits for the next.
    private func line(_ bytes: [UInt8]) {
        guard !bytes.isEmpty else { return }
        if let held = heldErrorLine {
            heldErrorLine = nil
            failure = nil
            stream.yield(JSONBody(held))
        }
        if let object = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any], object.count == 1,
           let error = object["error"], let encoded = try? JSONSerialization.data(withJSONObject: error) {
            failure = EnvelopeSession.callError(Array(encoded))
            heldErrorLine = bytes
        } else {
            stream.yield(JSONBody(bytes))
        }
    }

    private func finish(_ outcome: Result<KernelResponse, any Error>) {
        guard !finished else { return }
        finished = true
        stream.finish(outcome)
    }

    func channelInactive(context: ChannelHandlerContext) {
        finish(.failure(connection.isCancelled
            ? KernelClientError.call(code: "cancelled", message: "stream cancelled", details: JSONBody(Array("{}".utf8)))
            : KernelClientError.closed("the server closed the stream's connection")))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
