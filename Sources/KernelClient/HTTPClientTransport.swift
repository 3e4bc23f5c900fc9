import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// http: one keep-alive connection; calls are `POST /api/<endpoint>`,
/// pipelined and answered in order. No streams.
final class HTTPClientTransport: ClientTransport {
    private let channel: Channel
    private let host: String

    private init(channel: Channel, host: String) {
        self.channel = channel
        self.host = host
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
            return HTTPClientTransport(channel: channel, host: "\(host):\(port)")
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
        throw KernelClientError.unsupported("streams need ws or tcp; HTTP calls are unary")
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
