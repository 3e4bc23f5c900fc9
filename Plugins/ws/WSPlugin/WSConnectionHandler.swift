import EnvelopeTransport
import KernelTransport
import KernelSDK
import NIOCore
import NIOWebSocket

/// One WebSocket connection after the upgrade: checks every frame against
/// RFC 6455, reassembles fragmented messages (control frames may arrive
/// between fragments), hands text messages to the multiplexer, and runs the
/// close handshake with the code the RFC asks for.
///
/// Runs on the connection's event loop.
final class WSConnectionHandler: ChannelInboundHandler, EnvelopeConnection {
    typealias InboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    /// After our close frame, the peer gets this long to answer before we close the socket.
    private static let closeTimeout = TimeAmount.seconds(1)

    private let kernel: PluginContext
    private let settings: EnvelopeSettings
    private let liveness: WSLiveness
    /// permessage-deflate, when agreed in the upgrade.
    private let deflate: DeflateStream?
    private let life: ServerLife
    private var multiplexer: CallMultiplexer?
    private var context: ChannelHandlerContext?
    /// A fragmented message being reassembled.
    private var fragments: ByteBuffer?
    private var fragmentsAreText = false
    private var fragmentsAreCompressed = false
    private var closeSent = false
    private var clock: WSLiveness.Clock
    private var timer: RepeatedTask?

    init(kernel: PluginContext, settings: WSSettings, deflate: DeflateStream?, life: ServerLife) {
        self.kernel = kernel
        self.settings = settings.envelope
        self.liveness = settings.liveness
        self.deflate = deflate
        self.life = life
        clock = WSLiveness.Clock(now: .now())
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        multiplexer = CallMultiplexer(kernel: kernel, settings: settings, protocolName: "ws", channel: context.channel,
                                      life: life, connection: self)
        let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleRepeatedTask(initialDelay: liveness.tick, delay: liveness.tick) { _ in
            handler.value.checkLiveness()
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        self.context = nil
    }

    // MARK: Liveness

    private func checkLiveness() {
        guard let context, !closeSent else { return }
        switch liveness.check(&clock, now: .now(), callsInFlight: !(multiplexer?.isIdle ?? true)) {
        case .nothing:
            break
        case .ping(let payload):
            var buffer = context.channel.allocator.buffer(capacity: 8)
            buffer.writeInteger(payload)
            send(WebSocketFrame(fin: true, opcode: .ping, data: buffer))
        case .idle:
            sendClose(.goingAway, "idle timeout")
        case .dead:
            // No pong: the peer is gone (or cannot answer); its calls are cancelled as the socket closes.
            multiplexer?.connectionClosed()
            context.close(promise: nil)
        }
    }

    // MARK: Frames

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        // Once we sent a close, only the peer's close still matters.
        guard !closeSent || frame.opcode == .connectionClose else { return }
        guard frame.maskKey != nil else { return fail(.protocolError, "client frames must be masked") }
        // RSV1 marks a compressed message: only with permessage-deflate, only on a message's first frame.
        let compressed = frame.rsv1 && deflate != nil && (frame.opcode == .text || frame.opcode == .binary)
        guard (!frame.rsv1 || compressed) && !frame.rsv2 && !frame.rsv3 else {
            return fail(.protocolError, "reserved bits set without an extension that allows them here")
        }
        multiplexer?.beginRead()
        switch frame.opcode {
        case .text, .binary, .continuation:
            clock.traffic(at: .now())
        default:
            break
        }
        switch frame.opcode {
        case .text, .binary:
            guard fragments == nil else { return fail(.protocolError, "a new message began inside a fragmented one") }
            let data = frame.unmaskedData
            guard data.readableBytes <= settings.maxMessageSize else { return tooBig() }
            if frame.fin {
                deliver(data, isText: frame.opcode == .text, compressed: compressed)
            } else {
                fragments = data
                fragmentsAreText = frame.opcode == .text
                fragmentsAreCompressed = compressed
            }
        case .continuation:
            guard var message = fragments else { return fail(.protocolError, "a continuation frame without a message") }
            var data = frame.unmaskedData
            guard message.readableBytes + data.readableBytes <= settings.maxMessageSize else { return tooBig() }
            fragments = nil // drop the reference so the append does not copy
            message.writeBuffer(&data)
            if frame.fin {
                deliver(message, isText: fragmentsAreText, compressed: fragmentsAreCompressed)
            } else {
                fragments = message
            }
        case .ping:
            send(WebSocketFrame(fin: true, opcode: .pong, data: frame.unmaskedData))
        case .pong:
            // The answer to our ping proves the peer alive; unsolicited pongs are allowed and ignored.
            var payload = frame.unmaskedData
            if let answered = payload.readInteger(as: UInt64.self) { clock.pong(answered) }
        case .connectionClose:
            peerClosed(frame.unmaskedData)
        default:
            fail(.protocolError, "reserved opcode \(frame.opcode)")
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        multiplexer?.endRead()
        context.fireChannelReadComplete()
    }

    private func deliver(_ message: ByteBuffer, isText: Bool, compressed: Bool) {
        var message = message
        if compressed, let deflate {
            // Inflated no further than the limit an uncompressed message has.
            do {
                guard let inflated = try deflate.decompress(message, limit: settings.maxMessageSize) else { return tooBig() }
                message = inflated
            } catch {
                return fail(.invalidPayload, "a compressed message that does not inflate: \(error)")
            }
        }
        guard isText else { return fail(.unsupportedData, "binary messages are not supported; send the envelope as text") }
        guard message.withUnsafeReadableBytes(isValidUTF8) else { return fail(.invalidPayload, "text message is not valid UTF-8") }
        // A message that is not an envelope is answered with an error message; the framing is intact, so the connection stays.
        multiplexer?.receive(message)
    }

    private func tooBig() {
        fail(.messageTooBig, "message exceeds max_message_size \(settings.maxMessageSize)")
    }

    // MARK: Closing

    /// The peer's close frame: answer it (echoing its code) and close, or
    /// close at once if it answers ours.
    private func peerClosed(_ payload: ByteBuffer) {
        guard let context else { return }
        if closeSent {
            context.close(promise: nil)
            return
        }
        var payload = payload
        var code = CloseCode.normal.rawValue
        if payload.readableBytes == 1 { return fail(.protocolError, "a close payload of one byte") }
        if let received = payload.readInteger(as: UInt16.self) {
            guard CloseCode.isAllowedFromPeer(received) else { return fail(.protocolError, "close code \(received) is not allowed") }
            guard payload.withUnsafeReadableBytes(isValidUTF8) else { return fail(.invalidPayload, "close reason is not valid UTF-8") }
            code = received
        }
        closeSent = true
        multiplexer?.connectionClosed()
        var echo = context.channel.allocator.buffer(capacity: 2)
        echo.writeInteger(code)
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .connectionClose, data: echo)))
            .whenComplete { _ in channel.close(promise: nil) }
    }

    /// Starts the close handshake with `code`; the socket closes when the
    /// peer answers, or after a short wait.
    private func sendClose(_ code: CloseCode, _ reason: String) {
        guard let context, !closeSent else { return }
        closeSent = true
        fragments = nil
        var payload = context.channel.allocator.buffer(capacity: 2 + reason.utf8.count)
        payload.writeInteger(code.rawValue)
        payload.writeString(String(reason.utf8.prefix(123)) ?? "")
        context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .connectionClose, data: payload)), promise: nil)
        let channel = context.channel
        channel.eventLoop.scheduleTask(in: Self.closeTimeout) { channel.close(promise: nil) }
    }

    /// Fails the connection (RFC 6455 7.1.7): the calls in flight are
    /// cancelled, and the close frame says why.
    private func fail(_ code: CloseCode, _ reason: String) {
        multiplexer?.endRead()
        multiplexer?.connectionClosed()
        sendClose(code, reason)
    }

    private func send(_ frame: WebSocketFrame) {
        context?.writeAndFlush(wrapOutboundOut(frame), promise: nil)
    }

    // MARK: EnvelopeConnection

    func writeMessage(_ message: ByteBuffer, promise: EventLoopPromise<Void>?) {
        guard let context, !closeSent else {
            promise?.fail(ChannelError.ioOnClosedChannel)
            return
        }
        clock.traffic(at: .now())
        if let deflate, let (payload, compressed) = try? deflate.compress(message) {
            context.write(wrapOutboundOut(WebSocketFrame(fin: true, rsv1: compressed, opcode: .text, data: payload)), promise: promise)
        } else {
            context.write(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .text, data: message)), promise: promise)
        }
    }

    func flushMessages() { context?.flush() }

    func closeAfterDrain() { sendClose(.goingAway, "server restarting") }

    // MARK: Events

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is QuiesceEvent {
            multiplexer?.quiesce()
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        guard !closeSent else { return } // the decoder keeps reporting the bytes it drops after a failure
        switch error as? NIOWebSocketError {
        case .invalidFrameLength?: tooBig()
        case .some: fail(.protocolError, "malformed frame: \(error)")
        case nil: context.close(promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        multiplexer?.connectionClosed()
        multiplexer = nil
        context.fireChannelInactive()
    }
}
