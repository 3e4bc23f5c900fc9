import KernelSDK
import KernelTransport
import NIOCore

/// The kernel call behind one HTTP request: hands its items and its outcome
/// to the connection's event loop. Freed (and the kernel call released)
/// when the connection no longer refers to it.
final class HTTPCall: TransportCall, @unchecked Sendable {
    private let loop: EventLoop
    private let handler: NIOLoopBound<HTTPConnectionHandler>
    private let life: ServerLife
    /// The content type of a raw stream, nil when the transport frames the
    /// items. Read from the handler's response metadata at its first item,
    /// on its thread, before that item goes to the loop (which reads this).
    private(set) var rawContentType: String?
    private var framingRead = false

    init(_ kernel: PluginContext, handler: HTTPConnectionHandler, loop: EventLoop, life: ServerLife,
         streamQueue: Int) throws(PluginError) {
        self.loop = loop
        self.handler = NIOLoopBound(handler, eventLoop: loop)
        self.life = life
        try super.init(kernel, protocol: "http", streamQueue: streamQueue)
    }

    override func completed(_ outcome: CallOutcome) {
        guard life.isRunning else { return }
        if loop.inEventLoop {
            handler.value.finish(self, outcome)
        } else {
            loop.execute { self.handler.value.finish(self, outcome) }
        }
    }

    override func deliver(item: ByteBuffer) {
        if !framingRead {
            framingRead = true
            rawContentType = RawStream.contentType(responseMeta: responseMeta)
        }
        guard life.isRunning else { return itemWritten() }
        if loop.inEventLoop {
            handler.value.write(item: item, of: self)
        } else {
            loop.execute { self.handler.value.write(item: item, of: self) }
        }
    }
}
