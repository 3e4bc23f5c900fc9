import EnvelopeJSON
import Foundation

/// One message of a subscription connection, read from an envelope
/// (Protocols/ws-envelope.md section 10) or a Server-Sent Event: the same
/// JSON objects either way.
enum SubscriptionMessage {
    case subscribed(gap: Bool, oldest: UInt64?)
    case event(KernelEvent)
    /// Several events in one message (`events`), in offset order.
    case events([KernelEvent])
    case gap(SubscriptionGap)
    /// The server ended the subscription.
    case end
    /// The subscription failed: a `KernelClientError.call`.
    case failed(KernelClientError)
    /// The answer to our `unsubscribe`.
    case unsubscribed
    /// Something this client does not use (a later version's type, a plain `item`, `pong`).
    case ignored

    static func parse(_ frame: SubscriptionInbox.Frame) throws(KernelClientError) -> SubscriptionMessage {
        switch frame {
        case .envelope(let buffer):
            return try envelope(Array(buffer.readableBytesView))
        case .serverSent(let event, let data):
            return try serverSent(event: event, data: data)
        case .refused(let status, let body):
            return refused(status: status, body: body)
        }
    }

    // MARK: Sources

    /// An item starts with the subscription's id (spliced in by the
    /// transport); its own members follow, an event's own `id` among them.
    private static func envelope(_ bytes: [UInt8]) throws(KernelClientError) -> SubscriptionMessage {
        let members = try members(bytes)
        if members.first?.key == "id" { return try item(bytes, members.dropFirst(), type: nil) }
        let fields = Fields(bytes, members[...])
        switch fields.string("type") {
        case "end": return .end
        case "unsubscribed": return .unsubscribed
        case "error":
            guard let range = fields.ranges["error"] else { return failure([]) }
            return failure(Array(bytes[range]))
        default: return .ignored
        }
    }

    private static func serverSent(event: String, data: [UInt8]) throws(KernelClientError) -> SubscriptionMessage {
        switch event {
        case "end": return .end
        case "error": return failure(data)
        default: return try item(data, try members(data)[...], type: event == "message" ? nil : event)
        }
    }

    /// An answer before the stream began: `{"error":{…}}`, or only a status.
    private static func refused(status: Int, body: [UInt8]) -> SubscriptionMessage {
        if let members = try? members(body), let range = Fields(body, members[...]).ranges["error"] {
            return failure(Array(body[range]))
        }
        let code = switch status {
        case 404: "not_found"
        case 401: "unauthorized"
        case 403: "forbidden"
        case 503: "unavailable"
        default: "internal"
        }
        return .failed(.call(code: code, message: "HTTP \(status)", details: JSONBody(Array("{}".utf8))))
    }

    private static func item(_ bytes: [UInt8], _ members: ArraySlice<JSONScanner.Member>,
                             type: String?) throws(KernelClientError) -> SubscriptionMessage {
        let fields = Fields(bytes, members)
        switch type ?? fields.string("type") {
        case "subscribed":
            return .subscribed(gap: fields.raw("gap") == "true", oldest: fields.offset("oldest"))
        case "gap":
            return .gap(SubscriptionGap(oldest: fields.offset("oldest"), dropped: fields.offset("dropped")))
        case "event":
            return .event(try event(fields))
        case "events":
            guard let range = fields.ranges["events"] else { throw .protocolViolation("an events message without events") }
            var events: [KernelEvent] = []
            do {
                for element in try bytes.withUnsafeBytes({ raw throws(JSONScanner.Malformed) in
                    try JSONScanner.elements(ofArray: raw, in: range)
                }) {
                    let object = Array(bytes[element])
                    events.append(try event(Fields(object, try Self.members(object)[...])))
                }
            } catch let error as KernelClientError {
                throw error
            } catch {
                throw .protocolViolation("malformed events: \(error)")
            }
            return .events(events)
        default:
            return .ignored
        }
    }

    private static func event(_ fields: Fields) throws(KernelClientError) -> KernelEvent {
        guard let offset = fields.offset("offset") else {
            throw .protocolViolation("an event without an offset: \(String(decoding: fields.bytes, as: UTF8.self))")
        }
        return KernelEvent(offset: offset, id: fields.string("eventId") ?? fields.string("id") ?? "", topic: fields.string("topic") ?? "",
                           createdAt: fields.string("createdAt") ?? "", publisher: fields.string("publisher") ?? "",
                           payload: JSONBody(fields.bytes("payload") ?? Array("null".utf8)),
                           context: JSONBody(fields.bytes("context") ?? Array("{}".utf8)))
    }

    private static func failure(_ object: [UInt8]) -> SubscriptionMessage { .failed(EnvelopeSession.callError(object)) }

    private static func members(_ bytes: [UInt8]) throws(KernelClientError) -> [JSONScanner.Member] {
        do {
            return try bytes.withUnsafeBytes { raw throws(JSONScanner.Malformed) in try JSONScanner.members(ofObject: raw) }
        } catch {
            throw .protocolViolation("not a JSON object: \(error)")
        }
    }

    /// The members of one object by key (a later duplicate wins).
    private struct Fields {
        let bytes: [UInt8]
        var ranges: [String: Range<Int>] = [:]

        init(_ bytes: [UInt8], _ members: ArraySlice<JSONScanner.Member>) {
            self.bytes = bytes
            for member in members { ranges[member.key] = member.value }
        }

        func bytes(_ key: String) -> [UInt8]? { ranges[key].map { Array(bytes[$0]) } }

        func raw(_ key: String) -> String? { ranges[key].map { String(decoding: bytes[$0], as: UTF8.self) } }

        func string(_ key: String) -> String? {
            guard let range = ranges[key] else { return nil }
            return bytes.withUnsafeBytes { JSONScanner.string($0, in: range) }
        }

        func offset(_ key: String) -> UInt64? { raw(key).flatMap { UInt64($0) } }
    }
}
