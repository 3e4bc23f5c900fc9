import EnvelopeTransport
import KernelTransport
import KernelSDK
import NIOCore

/// One TCP connection: frames in, envelopes to the multiplexer, framed
/// answers out. A frame that is not an envelope, or a length past the limit,
/// is answered with one error frame and the connection ends.
///
/// Runs on the connection's event loop.
final class TCPConnectionHandler: ChannelInboundHandler, EnvelopeConnection {
    typealias InboundIn = TCPFrame
    typealias OutboundOut = ByteBuffer

    /// After an error frame, the peer gets this long to close before we do.
    private static let lingerTime = TimeAmount.seconds(1)

    private let kernel: PluginContext
    private let settings: EnvelopeSettings
    private let life: ServerLife
    private var multiplexer: CallMultiplexer?
    private var context: ChannelHandlerContext?
    private var failing = false
    /// When the last whole frame arrived: bytes that trickle in without
    /// completing one (slowloris) do not keep an idle connection open.
    private var lastFrame = NIODeadline.now()
    private var frameClock: RepeatedTask?
    /// The client's FIN: what is still running gets the idle timeout to finish
    /// (a stream of the client that also closed would otherwise hold the connection forever).
    private var inputClosedAt: NIODeadline?

    init(kernel: PluginContext, settings: EnvelopeSettings, life: ServerLife) {
        self.kernel = kernel
        self.settings = settings
        self.life = life
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        multiplexer = CallMultiplexer(kernel: kernel, settings: settings, protocolName: "tcp", channel: context.channel,
                                      life: life, connection: self)
        let idle = settings.idleTimeout.timeAmount
        frameClock = context.eventLoop.scheduleRepeatedTask(initialDelay: idle, delay: max(.nanoseconds(idle.nanoseconds / 4), .milliseconds(50))) {
            [weak self] _ in
            guard let self, let context = self.context else { return }
            let now = NIODeadline.now()
            if let closedAt = self.inputClosedAt, now - closedAt >= idle {
                self.multiplexer?.connectionClosed() // cancels what is left
                context.close(promise: nil)
            } else if !(self.multiplexer?.isIdle ?? true) {
                self.lastFrame = now // a call in flight is traffic
            } else if now - self.lastFrame >= idle {
                context.close(promise: nil)
            }
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        frameClock?.cancel()
        frameClock = nil
        self.context = nil
    }

    // MARK: Reading

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !failing, let multiplexer else { return }
        lastFrame = .now()
        multiplexer.beginRead()
        switch unwrapInboundIn(data) {
        case .message(let envelope):
            if !multiplexer.receive(envelope) { fail() }
        case .oversize(let length):
            multiplexer.writeError(id: nil, code: "too_large",
                                   message: "frame of \(length) bytes exceeds max_frame_size \(settings.maxMessageSize)")
            fail()
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        multiplexer?.endRead()
        context.fireChannelReadComplete()
    }

    /// The error frame is written: send FIN, keep discarding input so the
    /// peer reads the frame (closing with unread input would reset it), and
    /// close for good after a short linger.
    private func fail() {
        guard let context, !failing else { return }
        failing = true
        multiplexer?.endRead()
        multiplexer?.connectionClosed()
        let channel = context.channel
        context.close(mode: .output, promise: nil)
        channel.eventLoop.scheduleTask(in: Self.lingerTime) { channel.close(promise: nil) }
    }

    // MARK: EnvelopeConnection

    func writeMessage(_ message: ByteBuffer, promise: EventLoopPromise<Void>?) {
        guard let context else {
            promise?.fail(ChannelError.ioOnClosedChannel)
            return
        }
        var length = context.channel.allocator.buffer(capacity: 4)
        length.writeInteger(UInt32(message.readableBytes))
        context.write(wrapOutboundOut(length), promise: nil)
        context.write(wrapOutboundOut(message), promise: promise)
    }

    func flushMessages() { context?.flush() }

    func closeAfterDrain() { context?.close(promise: nil) }

    // MARK: Events

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is TCPHeartbeat {
            lastFrame = .now()
        } else if event is QuiesceEvent {
            multiplexer?.quiesce()
        } else if let event = event as? ChannelEvent, event == .inputClosed {
            // The client sent everything and waits for the answers: close once they are written.
            inputClosedAt = .now()
            multiplexer?.clientInputEnded()
        } else if let idle = event as? IdleStateHandler.IdleStateEvent, idle == .all {
            if multiplexer?.isIdle ?? true { context.close(promise: nil) }
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        multiplexer?.connectionClosed()
        multiplexer = nil
        context.fireChannelInactive()
    }
}
