import KernelSDK
import KernelTransport
import NIOCore

/// What a protocol handler (WS or TCP) offers the multiplexer: a way to
/// write one framed message and to close when a drain is done.
/// Called on the connection's event loop only.
package protocol EnvelopeConnection: AnyObject {
    /// Frames and writes one server message, without flushing.
    func writeMessage(_ message: ByteBuffer, promise: EventLoopPromise<Void>?)
    func flushMessages()
    /// The connection has no call left after a quiesce: close it the protocol's way.
    func closeAfterDrain()
}

/// The calls of one connection, by the client's ids: starts them on the
/// kernel, pushes client items, cancels, and writes every answer. Many calls
/// are in flight at once and answered in completion order.
///
/// Confined to the connection's event loop.
package final class CallMultiplexer {
    let loop: EventLoop
    private let kernel: PluginContext
    private let settings: EnvelopeSettings
    private let protocolName: String
    private let peer: String?
    private let life: ServerLife
    private weak var connection: EnvelopeConnection?
    private var calls: [String: InFlightCall] = [:]
    private var quiescing = false
    private var closed = false
    /// Writes made while a read is being handled are flushed once, at the end of the read.
    private var reading = false
    private var pendingFlush = false

    package init(kernel: PluginContext, settings: EnvelopeSettings, protocolName: String, channel: Channel,
                life: ServerLife, connection: EnvelopeConnection) {
        self.loop = channel.eventLoop
        self.kernel = kernel
        self.settings = settings
        self.protocolName = protocolName
        self.life = life
        self.connection = connection
        if let address = channel.remoteAddress, let ip = address.ipAddress {
            peer = "\(ip):\(address.port ?? 0)"
        } else {
            peer = nil
        }
    }

    /// No call in flight: the connection may be closed for idleness.
    package var isIdle: Bool { calls.isEmpty }

    // MARK: Reading

    package func beginRead() { reading = true }

    package func endRead() {
        reading = false
        if pendingFlush {
            pendingFlush = false
            connection?.flushMessages()
        }
    }

    /// Handles one client message. Returns false when the message was not an
    /// envelope at all (not a JSON object, or no usable id): the error went
    /// out, and a byte-stream protocol should close since framing is suspect.
    @discardableResult
    package func receive(_ message: ByteBuffer) -> Bool {
        switch ClientMessage.parse(message) {
        case .failure(let refusal):
            writeError(id: refusal.id, code: refusal.code, message: refusal.message)
            return refusal.id != nil
        case .success(.call(let start)):
            self.start(start)
        case .success(.item(let id, let payload)):
            guard let call = calls[id], !call.clientEnded else {
                writeError(id: id, code: "not_found", message: "no open stream with this id")
                return true
            }
            // Only bidirectional endpoints take items; any other refuses and the call is cancelled.
            if call.push(payload) != nil { call.cancel() }
        case .success(.end(let id)):
            guard let call = calls[id], !call.clientEnded else {
                writeError(id: id, code: "not_found", message: "no open stream with this id")
                return true
            }
            call.clientEnded = true
            call.endItems()
        case .success(.cancel(let id)):
            // Unknown ids are ignored: the call may just have completed.
            calls[id]?.cancel()
        case .success(.unsubscribe(let id)):
            guard let call = calls[id], call.isSubscription else {
                writeError(id: id, code: "not_found", message: "no open subscription with this id")
                return true
            }
            // A repeated unsubscribe is already being answered.
            guard !call.unsubscribed else { return true }
            call.unsubscribed = true
            call.cancel()
        case .success(.ping(let id)):
            var buffer = ByteBufferAllocator().buffer(capacity: 32)
            ServerMessage.pong(id: id, into: &buffer)
            write(buffer)
        }
        return true
    }

    private func start(_ start: ClientMessage.CallStart) {
        guard !quiescing else {
            return writeError(id: start.id, code: "unavailable", message: "the transport is restarting; reconnect")
        }
        guard calls[start.id] == nil else {
            return writeError(id: start.id, code: "invalid_argument", message: "a call with this id is in flight")
        }
        guard calls.count < settings.maxInFlight else {
            return writeError(id: start.id, code: "unavailable",
                              message: "more than \(settings.maxInFlight) calls in flight on this connection")
        }
        let call: InFlightCall
        do {
            call = try InFlightCall(kernel, protocol: protocolName, id: start.id, isStream: start.isStream,
                                    isSubscription: start.isSubscription, multiplexer: self,
                                    streamQueue: settings.streamQueue, life: life)
        } catch {
            return writeError(id: start.id, code: error.code.rawValue, message: error.message)
        }
        call.target(endpoint: start.endpoint)
        call.setBody(start.payload, contentType: "application/json")
        if let peer { call.setMeta("peer", peer) }
        for (name, value) in start.meta { call.setMeta("header.\(name)", value) }
        calls[start.id] = call
        call.start()
    }

    // MARK: Answers

    /// A stream item, once the handler's thread handed it over.
    func write(item: ByteBuffer, of call: InFlightCall) {
        guard !closed, calls[call.id] === call, !call.unsubscribed else { return call.itemWritten() }
        let promise = loop.makePromise(of: Void.self)
        // The item's place in the stream's queue frees when the socket took the bytes, so a slow reader holds the handler.
        promise.futureResult.whenComplete { _ in call.itemWritten() }
        write(item, promise: promise)
    }

    /// The call completed: the last message for its id.
    func finish(_ call: InFlightCall, _ outcome: CallOutcome) {
        guard calls[call.id] === call else { return }
        calls[call.id] = nil
        guard !closed else { return }
        var buffer = ByteBufferAllocator().buffer(capacity: outcome.body.readableBytes + call.id.utf8.count + 48)
        if call.unsubscribed {
            // Whatever ended it (mostly the cancel), the client asked for the end and hears that.
            ServerMessage.unsubscribed(id: call.id, into: &buffer)
        } else if call.endedByServer {
            ServerMessage.error(id: call.id, code: "unavailable",
                                message: "the transport is restarting or the connection is closing; subscribe again",
                                into: &buffer)
        } else if let failure = outcome.failure {
            ServerMessage.error(id: call.id, code: failure.code.rawValue, message: failure.message,
                                details: failure.details, into: &buffer)
        } else {
            ServerMessage.result(id: call.id, stream: call.isStream, body: outcome.body, contentType: outcome.contentType,
                                 meta: outcome.headers, into: &buffer)
        }
        write(buffer)
        if quiescing && calls.isEmpty { connection?.closeAfterDrain() }
    }

    package func writeError(id: String?, code: String, message: String) {
        var buffer = ByteBufferAllocator().buffer(capacity: 96 + message.utf8.count)
        ServerMessage.error(id: id, code: code, message: message, into: &buffer)
        write(buffer)
    }

    private func write(_ buffer: ByteBuffer, promise: EventLoopPromise<Void>? = nil) {
        guard let connection, !closed else {
            promise?.fail(ChannelError.ioOnClosedChannel)
            return
        }
        connection.writeMessage(buffer, promise: promise)
        if reading {
            pendingFlush = true
        } else {
            connection.flushMessages()
        }
    }

    // MARK: Lifecycle

    /// Refuse new calls; close once the calls in flight are answered.
    /// Subscriptions never finish by themselves: they end now, with
    /// `unavailable` (a client resumes from its last offset elsewhere).
    package func quiesce() {
        quiescing = true
        for call in calls.values where call.isSubscription && !call.unsubscribed && !call.endedByServer {
            call.endedByServer = true
            call.cancel()
        }
        if calls.isEmpty { connection?.closeAfterDrain() }
    }

    /// The client can send nothing more (a TCP FIN): the streams it had not
    /// ended end now, as if it had sent `end` (a bidirectional handler waiting
    /// for items would otherwise wait forever), then the connection quiesces.
    package func clientInputEnded() {
        for call in calls.values where call.isStream && !call.isSubscription && !call.clientEnded {
            call.clientEnded = true
            call.endItems()
        }
        quiesce()
    }

    /// The connection is gone: every call in flight is cancelled, so handlers learn of it.
    package func connectionClosed() {
        guard !closed else { return }
        closed = true
        let open = calls.values
        calls.removeAll()
        for call in open { call.cancel() }
    }
}
