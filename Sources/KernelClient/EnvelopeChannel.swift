import NIOCore
import NIOHTTP1
import NIOPosix
import NIOWebSocket

/// Opens a connection that carries envelopes as whole messages (ByteBuffer
/// in, ByteBuffer out), framed by the protocol; `messages` adds the handler
/// that reads them. Shared by the calls' connection and each subscription's.
/// Any task; `messages` runs on the new channel's event loop.
enum EnvelopeChannel {
    /// Length-prefixed frames (Protocols/tcp-framing.md).
    static func tcp(host: String, port: Int, group: any EventLoopGroup,
                    messages: @escaping @Sendable (Channel) throws -> Void) async throws -> Channel {
        try await connect(host: host, port: port, group: group) { channel in
            let sync = channel.pipeline.syncOperations
            try sync.addHandler(ByteToMessageHandler(LengthPrefixDecoder()))
            try sync.addHandler(MessageToByteHandler(LengthPrefixEncoder()))
            try messages(channel)
        }
    }

    /// WebSocket text messages, after the upgrade (Protocols/ws-envelope.md section 1).
    static func webSocket(host: String, port: Int, group: any EventLoopGroup,
                          messages: @escaping @Sendable (Channel) throws -> Void) async throws -> Channel {
        let upgraded = group.next().makePromise(of: Void.self)
        let channel: Channel
        do {
            channel = try await connect(host: host, port: port, group: group) { channel in
                let upgrader = NIOWebSocketClientUpgrader(maxFrameSize: 1 << 26, automaticErrorHandling: true) { channel, _ in
                    channel.eventLoop.makeCompletedFuture {
                        let sync = channel.pipeline.syncOperations
                        // Past the upgrade the watcher would see frames, not HTTP.
                        _ = try? sync.removeHandler(sync.handler(type: UpgradeWatcher.self))
                        try sync.addHandler(WebSocketMessageHandler())
                        try messages(channel)
                        upgraded.succeed(())
                    }
                }
                let sync = channel.pipeline.syncOperations
                try sync.addHTTPClientHandlers(withClientUpgrade: (upgraders: [upgrader], completionHandler: { _ in }))
                try sync.addHandler(UpgradeWatcher(upgraded: upgraded))
            }
        } catch {
            // Nobody will complete it now; a promise left pending is a leak NIO reports.
            upgraded.fail(error)
            throw error
        }
        var headers = HTTPHeaders()
        headers.add(name: "Host", value: "\(host):\(port)")
        headers.add(name: "Content-Length", value: "0")
        let head = HTTPRequestHead(version: .http1_1, method: .GET, uri: "/", headers: headers)
        channel.write(HTTPClientRequestPart.head(head), promise: nil)
        channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
        do {
            try await upgraded.futureResult.get()
        } catch {
            try? await channel.close()
            throw KernelClientError.closed("WebSocket upgrade failed: \(error)")
        }
        return channel
    }

    /// A TCP connection with `pipeline` set up; failures are `KernelClientError.closed`.
    static func connect(host: String, port: Int, group: any EventLoopGroup,
                        pipeline: @escaping @Sendable (Channel) throws -> Void) async throws -> Channel {
        do {
            return try await ClientBootstrap(group: group)
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .channelInitializer { channel in channel.eventLoop.makeCompletedFuture { try pipeline(channel) } }
                .connect(host: host, port: port).get()
        } catch {
            throw KernelClientError.closed("cannot connect to \(host):\(port): \(error)")
        }
    }
}

/// Fails the upgrade when the server answers plain HTTP or the connection drops first.
private final class UpgradeWatcher: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart
    private let upgraded: EventLoopPromise<Void>

    init(upgraded: EventLoopPromise<Void>) { self.upgraded = upgraded }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head(let head) = unwrapInboundIn(data) {
            upgraded.fail(KernelClientError.protocolViolation("server answered \(head.status.code) instead of upgrading"))
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        upgraded.fail(error)
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        upgraded.fail(KernelClientError.closed("closed during the upgrade"))
        context.fireChannelInactive()
    }
}

/// WebSocket frames ⇄ envelope messages: reassembles fragments, answers
/// pings, closes on the server's close; writes each message as one masked text frame.
private final class WebSocketMessageHandler: ChannelDuplexHandler {
    typealias InboundIn = WebSocketFrame
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = WebSocketFrame

    private var fragments: ByteBuffer?

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        switch frame.opcode {
        case .text, .binary, .continuation:
            var data = frame.unmaskedData
            if var partial = fragments {
                partial.writeBuffer(&data)
                data = partial
            }
            if frame.fin {
                fragments = nil
                context.fireChannelRead(wrapInboundOut(data))
            } else {
                fragments = data
            }
        case .ping:
            let pong = WebSocketFrame(fin: true, opcode: .pong, maskKey: .random(), data: frame.unmaskedData)
            context.writeAndFlush(wrapOutboundOut(pong), promise: nil)
        case .connectionClose:
            context.close(promise: nil)
        default:
            break
        }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let frame = WebSocketFrame(fin: true, opcode: .text, maskKey: .random(), data: unwrapOutboundIn(data))
        context.write(wrapOutboundOut(frame), promise: promise)
    }
}

/// 4-byte big-endian length, then the message (Protocols/tcp-framing.md).
private struct LengthPrefixDecoder: ByteToMessageDecoder {
    typealias InboundOut = ByteBuffer

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let length = buffer.getInteger(at: buffer.readerIndex, as: UInt32.self),
              buffer.readableBytes >= 4 + Int(length) else { return .needMoreData }
        buffer.moveReaderIndex(forwardBy: 4)
        let message = buffer.readSlice(length: Int(length))!
        if length > 0 { context.fireChannelRead(wrapInboundOut(message)) }
        return .continue
    }
}

private struct LengthPrefixEncoder: MessageToByteEncoder {
    typealias OutboundIn = ByteBuffer

    func encode(data: ByteBuffer, out: inout ByteBuffer) throws {
        out.writeInteger(UInt32(data.readableBytes))
        out.writeImmutableBuffer(data)
    }
}
