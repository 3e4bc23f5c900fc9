import EnvelopeJSON
import Foundation
import NIOCore
import NIOPosix
import XCTest

/// A server the test drives by hand: every message a client sends arrives
/// on `messages` with its connection, and the test answers on that
/// connection or closes it. Speaks the envelope in TCP frames
/// (Protocols/tcp-framing.md), or plain HTTP (each request head is a message,
/// answers are raw bytes).
///
/// Thread-safe: `messages` is read by one task; connections are used from any.
final class ScriptedServer: Sendable {
    enum Framing: Sendable { case tcp, http }

    /// One client message (an envelope, or an HTTP request head).
    struct Received: Sendable {
        let connection: Connection
        let text: String

        /// The envelope as a JSON object.
        var object: [String: Any] {
            (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:]
        }

        /// The raw JSON of the envelope's `id`, as the transport keeps it.
        var rawID: String {
            Array(text.utf8).withUnsafeBytes { bytes in
                (try? JSONScanner.members(ofObject: bytes))?.first { $0.key == "id" }
                    .map { String(decoding: bytes[$0.value], as: UTF8.self) } ?? "null"
            }
        }
    }

    /// One accepted connection.
    final class Connection: Sendable {
        let channel: Channel
        let framing: Framing

        init(channel: Channel, framing: Framing) {
            self.channel = channel
            self.framing = framing
        }

        /// Sends one message: a frame over tcp, the bytes as they are over http.
        func send(_ text: String) {
            var buffer = channel.allocator.buffer(capacity: text.utf8.count + 4)
            if framing == .tcp { buffer.writeInteger(UInt32(text.utf8.count)) }
            buffer.writeString(text)
            channel.writeAndFlush(buffer, promise: nil)
        }

        func close() { channel.close(promise: nil) }
    }

    let port: Int
    let messages: AsyncStream<Received>
    private let listener: Channel

    private init(port: Int, messages: AsyncStream<Received>, listener: Channel) {
        self.port = port
        self.messages = messages
        self.listener = listener
    }

    static func start(_ framing: Framing) async throws -> ScriptedServer {
        let (messages, continuation) = AsyncStream<Received>.makeStream()
        let listener = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let connection = Connection(channel: channel, framing: framing)
                    let sync = channel.pipeline.syncOperations
                    switch framing {
                    case .tcp:
                        try sync.addHandler(ByteToMessageHandler(FrameDecoder()))
                    case .http:
                        try sync.addHandler(ByteToMessageHandler(RequestHeadDecoder()))
                    }
                    try sync.addHandler(Recorder(connection: connection, continuation: continuation))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return ScriptedServer(port: listener.localAddress?.port ?? 0, messages: messages, listener: listener)
    }

    func stop() async { try? await listener.close() }

    /// A port nothing listens on (bound, then closed).
    static func closedPort() async throws -> Int {
        let server = try await start(.tcp)
        await server.stop()
        return server.port
    }
}

/// Each decoded message, with its connection, to the test.
private final class Recorder: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    let connection: ScriptedServer.Connection
    let continuation: AsyncStream<ScriptedServer.Received>.Continuation

    init(connection: ScriptedServer.Connection, continuation: AsyncStream<ScriptedServer.Received>.Continuation) {
        self.connection = connection
        self.continuation = continuation
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        continuation.yield(.init(connection: connection, text: String(buffer: unwrapInboundIn(data))))
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) { context.close(promise: nil) }
}

/// 4-byte big-endian length, then the message; heartbeats skipped.
private struct FrameDecoder: ByteToMessageDecoder {
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

/// An HTTP request head (up to its blank line) as one message; a GET has no body.
private struct RequestHeadDecoder: ByteToMessageDecoder {
    typealias InboundOut = ByteBuffer

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        let view = buffer.readableBytesView
        guard let end = view.firstRange(of: Array("\r\n\r\n".utf8)) else { return .needMoreData }
        let head = buffer.readSlice(length: end.upperBound - view.startIndex)!
        context.fireChannelRead(wrapInboundOut(head))
        return .continue
    }
}

extension AsyncStream<ScriptedServer.Received>.Iterator {
    struct Ended: Error {}

    /// The next message; throws when the stream ended (the test's deadline cancelled the wait).
    mutating func take() async throws -> ScriptedServer.Received {
        guard let next = await next() else { throw Ended() }
        return next
    }
}
