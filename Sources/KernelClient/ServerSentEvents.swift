import NIOCore
import NIOHTTP1

/// Reads the answer to `GET /events/stream`: a `text/event-stream` body
/// becomes one inbox frame per event; any other answer (an error before the
/// stream began) one `.refused` frame with its status and body.
///
/// Confined to the connection's event loop.
final class ServerSentEventsHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart
    private let inbox: SubscriptionInbox
    private var status = 0
    private var isEventStream = false
    private var parser = ServerSentEventParser()
    private var body: [UInt8] = []
    /// An error body is read for its message only; a larger one is cut.
    private static let bodyLimit = 64 * 1024

    init(inbox: SubscriptionInbox) { self.inbox = inbox }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            status = Int(head.status.code)
            isEventStream = head.status == .ok
                && head.headers.first(name: "content-type")?.lowercased().hasPrefix("text/event-stream") == true
        case .body(let part):
            if isEventStream {
                for event in parser.feed(part.readableBytesView) {
                    guard inbox.push(.serverSent(event: event.name, data: event.data)) else {
                        // The reader left: nothing more to read.
                        context.close(promise: nil)
                        return
                    }
                }
            } else if body.count < Self.bodyLimit {
                body.append(contentsOf: part.readableBytesView.prefix(Self.bodyLimit - body.count))
            }
        case .end:
            if !isEventStream { inbox.push(.refused(status: status, body: body)) }
            context.close(promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        inbox.close("the server closed the event stream")
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        inbox.close("\(error)")
        context.close(promise: nil)
    }
}

/// The event stream format of the HTML standard, as far as a subscription
/// needs it: `event:` and `data:` fields (several `data:` lines joined by
/// a line feed), comments, any line ending. `id:` is not kept: an event's
/// data carries its offset.
struct ServerSentEventParser {
    struct Event: Equatable {
        var name: String
        var data: [UInt8]
    }

    private var line: [UInt8] = []
    private var name = ""
    private var data: [UInt8] = []
    private var hasData = false
    private var afterCarriageReturn = false

    /// The events that `bytes` completes.
    mutating func feed<Bytes: Sequence<UInt8>>(_ bytes: Bytes) -> [Event] {
        var events: [Event] = []
        for byte in bytes {
            switch byte {
            case 0x0A where afterCarriageReturn:
                afterCarriageReturn = false
            case 0x0A, 0x0D:
                afterCarriageReturn = byte == 0x0D
                if let event = endLine() { events.append(event) }
            default:
                afterCarriageReturn = false
                line.append(byte)
            }
        }
        return events
    }

    private mutating func endLine() -> Event? {
        defer { line.removeAll(keepingCapacity: true) }
        guard !line.isEmpty else {
            // A blank line ends the event; one with no data is no event.
            defer {
                name = ""
                data.removeAll()
                hasData = false
            }
            return hasData ? Event(name: name.isEmpty ? "message" : name, data: data) : nil
        }
        guard line.first != UInt8(ascii: ":") else { return nil }
        let colon = line.firstIndex(of: UInt8(ascii: ":")) ?? line.endIndex
        let field = String(decoding: line[..<colon], as: UTF8.self)
        var value = colon < line.endIndex ? line[(colon + 1)...] : []
        if value.first == 0x20 { value = value.dropFirst() }
        switch field {
        case "event":
            name = String(decoding: value, as: UTF8.self)
        case "data":
            if hasData { data.append(0x0A) }
            data.append(contentsOf: value)
            hasData = true
        default:
            break
        }
        return nil
    }
}
