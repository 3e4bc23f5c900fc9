import KernelSDK
import KernelTransport
import NIOCore

/// One call a connection started, known by the client's id: hands its
/// items and its outcome to the connection's multiplexer, on its event loop.
final class InFlightCall: TransportCall, @unchecked Sendable {
    let id: String
    let isStream: Bool
    /// Started by `subscribe`: items go out as the handler's objects with the id spliced in.
    let isSubscription: Bool
    private let loop: EventLoop
    private let multiplexer: NIOLoopBound<CallMultiplexer>
    private let life: ServerLife
    /// The client ended its items (`end`); later items are refused. Event loop only.
    var clientEnded = false
    /// The client unsubscribed: items still coming are dropped and the last message is `unsubscribed`. Event loop only.
    var unsubscribed = false
    /// The server ended the subscription (a quiesce): the last message says to subscribe again. Event loop only.
    var endedByServer = false

    init(_ kernel: PluginContext, protocol name: String, id: String, isStream: Bool, isSubscription: Bool,
         multiplexer: CallMultiplexer, streamQueue: Int, life: ServerLife) throws(PluginError) {
        self.id = id
        self.isStream = isStream
        self.isSubscription = isSubscription
        self.loop = multiplexer.loop
        self.multiplexer = NIOLoopBound(multiplexer, eventLoop: multiplexer.loop)
        self.life = life
        try super.init(kernel, protocol: name, streamQueue: streamQueue)
    }

    override func deliver(item: ByteBuffer) {
        guard life.isRunning else { return itemWritten() }
        var buffer = ByteBufferAllocator().buffer(capacity: item.readableBytes + id.utf8.count + 40)
        if isSubscription {
            ServerMessage.subscriptionItem(id: id, item: item, into: &buffer)
        } else {
            ServerMessage.item(id: id, payload: item, into: &buffer)
        }
        if loop.inEventLoop {
            multiplexer.value.write(item: buffer, of: self)
        } else {
            let message = buffer
            loop.execute { self.multiplexer.value.write(item: message, of: self) }
        }
    }

    override func completed(_ outcome: CallOutcome) {
        guard life.isRunning else { return }
        if loop.inEventLoop {
            multiplexer.value.finish(self, outcome)
        } else {
            loop.execute { self.multiplexer.value.finish(self, outcome) }
        }
    }
}
