import Foundation
import NIOCore
import NIOHTTP1

/// What a subscription asks for, kept to ask again after a reconnect.
struct SubscriptionPlan: Sendable {
    let address: KernelAddress
    let group: any EventLoopGroup
    let patterns: [String]
    let start: SubscriptionStart?
    let overflow: SubscriptionOverflow?
    let meta: [String: String]
}

/// One connection of a subscription: its own socket, with the subscription
/// as its only call (envelope id `1`), or one `GET /events/stream` over http.
///
/// Thread-safe: opened and read by the subscription's task; `unsubscribe`
/// and `close` from any thread.
final class SubscriptionConnection: Sendable {
    let inbox: SubscriptionInbox
    private let channel: Channel
    private let isEnvelope: Bool

    /// The envelope id of the subscription: the connection carries nothing else.
    static let envelopeID = "1"

    private init(channel: Channel, inbox: SubscriptionInbox, isEnvelope: Bool) {
        self.channel = channel
        self.inbox = inbox
        self.isEnvelope = isEnvelope
    }

    /// Connects and subscribes from `since` (nil: from now on).
    static func open(_ plan: SubscriptionPlan, since: SubscriptionStart?) async throws -> SubscriptionConnection {
        let inbox = SubscriptionInbox()
        switch plan.address {
        case .tcp(let host, let port), .ws(let host, let port):
            let addHandler: @Sendable (Channel) throws -> Void = { channel in
                inbox.attach(channel)
                try channel.pipeline.syncOperations.addHandler(EnvelopeSubscriptionHandler(inbox: inbox))
            }
            let channel = if case .tcp = plan.address {
                try await EnvelopeChannel.tcp(host: host, port: port, group: plan.group, messages: addHandler)
            } else {
                try await EnvelopeChannel.webSocket(host: host, port: port, group: plan.group, messages: addHandler)
            }
            channel.writeAndFlush(subscribeMessage(plan, since: since)).whenFailure { error in
                inbox.close("cannot send the subscription: \(error)")
            }
            return SubscriptionConnection(channel: channel, inbox: inbox, isEnvelope: true)
        case .http(let host, let port):
            let channel = try await EnvelopeChannel.connect(host: host, port: port, group: plan.group) { channel in
                inbox.attach(channel)
                let sync = channel.pipeline.syncOperations
                try sync.addHTTPClientHandlers()
                try sync.addHandler(ServerSentEventsHandler(inbox: inbox))
            }
            channel.writeAndFlush(HTTPClientRequestPart.head(streamRequest(plan, since: since, host: host, port: port)),
                                  promise: nil)
            channel.writeAndFlush(HTTPClientRequestPart.end(nil)).whenFailure { error in
                inbox.close("cannot send the request: \(error)")
            }
            return SubscriptionConnection(channel: channel, inbox: inbox, isEnvelope: false)
        }
    }

    /// Ends the subscription politely: `unsubscribe`, then the socket closes
    /// once the server answered (or after a second). Over http closing is the way.
    func unsubscribe() {
        inbox.abandon()
        guard isEnvelope else { return close() }
        var message = ByteBuffer()
        message.writeString(#"{"type":"unsubscribe","id":"# + Self.envelopeID + "}")
        let channel = self.channel
        channel.writeAndFlush(message).whenComplete { _ in
            channel.eventLoop.scheduleTask(in: .seconds(1)) { channel.close(promise: nil) }
        }
    }

    func close() {
        inbox.abandon()
        channel.close(promise: nil)
    }

    // MARK: Requests

    /// `{"type":"subscribe","id":1,"patterns":[…],"since":…,"overflow":…,"meta":{…}}`
    static func subscribeMessage(_ plan: SubscriptionPlan, since: SubscriptionStart?) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeString(#"{"type":"subscribe","id":"# + envelopeID + #","patterns":"#)
        buffer.writeBytes(json(plan.patterns))
        if let since {
            buffer.writeString(#","since":"#)
            buffer.writeString(since.json)
        }
        if let overflow = plan.overflow {
            buffer.writeString(#","overflow":""# + overflow.rawValue + "\"")
        }
        if !plan.meta.isEmpty {
            buffer.writeString(#","meta":"#)
            buffer.writeBytes(json(plan.meta))
        }
        buffer.writeString("}")
        return buffer
    }

    /// `GET /events/stream?topics=a,b[&since=…][&overflow=…]`, `Last-Event-ID` when resuming from an offset.
    static func streamRequest(_ plan: SubscriptionPlan, since: SubscriptionStart?, host: String, port: Int) -> HTTPRequestHead {
        var query = "topics=" + plan.patterns.map(percentEncoded).joined(separator: ",")
        if let since, since.offset == nil { query += "&since=" + percentEncoded(since.text) }
        if let overflow = plan.overflow { query += "&overflow=" + overflow.rawValue }
        var headers = HTTPHeaders()
        headers.add(name: "Host", value: "\(host):\(port)")
        headers.add(name: "Accept", value: "text/event-stream")
        headers.add(name: "Connection", value: "close")
        headers.add(name: "Content-Length", value: "0")
        if let offset = since?.offset { headers.add(name: "Last-Event-ID", value: String(offset)) }
        for (name, value) in plan.meta { headers.add(name: name, value: value) }
        return HTTPRequestHead(version: .http1_1, method: .GET, uri: "/events/stream?" + query, headers: headers)
    }

    private static func json(_ value: Any) -> [UInt8] {
        Array((try? JSONSerialization.data(withJSONObject: value, options: [.withoutEscapingSlashes, .sortedKeys])) ?? Data("null".utf8))
    }

    /// Everything but unreserved characters escaped: patterns hold `#`, `*` and `>`.
    private static func percentEncoded(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics.intersection(CharacterSet(charactersIn: Unicode.Scalar(0)..<Unicode.Scalar(128)))
        allowed.insert(charactersIn: "-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }
}

/// Hands each envelope message of the connection to the inbox. Once the
/// reader left (after `unsubscribe`), waits for the server's last word
/// for the subscription and closes.
private final class EnvelopeSubscriptionHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    private let inbox: SubscriptionInbox

    init(inbox: SubscriptionInbox) { self.inbox = inbox }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let message = unwrapInboundIn(data)
        guard !inbox.push(.envelope(message)) else { return }
        // The server writes final messages type first; items start with the id.
        let view = message.readableBytesView
        if view.starts(with: #"{"type":"unsubscribed""#.utf8) || view.starts(with: #"{"type":"end""#.utf8)
            || view.starts(with: #"{"type":"error""#.utf8) {
            context.close(promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        inbox.close("the server closed the connection")
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        inbox.close("\(error)")
        context.close(promise: nil)
    }
}
