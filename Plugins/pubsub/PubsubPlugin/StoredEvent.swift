import Foundation
import KernelSDK

/// One event of the log, shared by every subscriber it goes to: the event
/// as published (its fields read through, `event.topic`), its offset, and
/// its wire form (Protocols/pubsub.md), encoded once.
@dynamicMemberLookup
final class StoredEvent: Sendable {
    let offset: UInt64
    private let event: NewEvent
    /// `{"type":"event","offset":…,"eventId":…,…}`: the envelope's form, whose
    /// `id` is the subscription's (the transport puts it first).
    let json: [UInt8]

    /// `event.payload` is a JSON value already normalized by `WireJSON.normalized` (the form the log stores).
    init(offset: UInt64, _ event: NewEvent) {
        self.offset = offset
        self.event = event
        json = Self.encode(offset: offset, event)
    }

    subscript<T>(dynamicMember field: KeyPath<NewEvent, T>) -> T { event[keyPath: field] }

    static let columns = "event_offset, id, topic, payload, created_at, publisher, user_id, tenant, session, request_id, headers"

    /// A row of `SELECT \(columns)`, by position (catch-up reads many: no lookup by name).
    convenience init(_ row: SQLRow) {
        self.init(offset: UInt64(max(0, row[0].int ?? 0)), NewEvent(
            id: row[1].string ?? "", topic: row[2].string ?? "", payload: Array((row[3].string ?? "null").utf8),
            createdAt: row[4].int ?? 0, publisher: row[5].string ?? "", user: row[6].string, tenant: row[7].string,
            session: row[8].string, requestID: row[9].string, headers: Array((row[10].string ?? "").utf8)))
    }

    /// The HTTP form (`GET /events`, Server-Sent Events): the event's own id is `id`.
    var httpJSON: [UInt8] {
        let key = Array(#","eventId":"#.utf8)
        var bytes = json
        // It follows the offset, near the start.
        if let start = (0..<min(bytes.count, 64)).first(where: { bytes[$0...].starts(with: key) }) {
            bytes.replaceSubrange(start..<(start + key.count), with: #","id":"#.utf8)
        }
        return bytes
    }

    /// The Server-Sent Events form: `id:` is the offset.
    var serverSentEvent: [UInt8] {
        var bytes = Array("id: \(offset)\nevent: event\ndata: ".utf8)
        bytes.append(contentsOf: httpJSON)
        bytes.append(contentsOf: [0x0A, 0x0A])
        return bytes
    }

    private static func encode(offset: UInt64, _ event: NewEvent) -> [UInt8] {
        let (id, topic, payload, createdAt, publisher) = (event.id, event.topic, event.payload, event.createdAt, event.publisher)
        let (user, tenant, session, requestID, headers) = (event.user, event.tenant, event.session, event.requestID, event.headers)
        var out: [UInt8] = []
        out.reserveCapacity(payload.count + topic.utf8.count + 200)
        out.append(contentsOf: #"{"type":"event","offset":"#.utf8)
        out.append(contentsOf: String(offset).utf8)
        out.append(contentsOf: #","eventId":"#.utf8)
        WireJSON.string(id, into: &out)
        out.append(contentsOf: #","topic":"#.utf8)
        WireJSON.string(topic, into: &out)
        out.append(contentsOf: #","createdAt":""#.utf8)
        out.append(contentsOf: WireJSON.timestampBytes(createdAt))
        out.append(contentsOf: #"","publisher":"#.utf8)
        WireJSON.string(publisher, into: &out)
        out.append(contentsOf: #","payload":"#.utf8)
        out.append(contentsOf: payload)
        out.append(contentsOf: #","context":{"#.utf8)
        var first = true
        for (key, value) in [("user", user), ("tenant", tenant), ("session", session), ("requestId", requestID)] {
            guard let value else { continue }
            if !first { out.append(UInt8(ascii: ",")) }
            first = false
            WireJSON.string(key, into: &out)
            out.append(UInt8(ascii: ":"))
            WireJSON.string(value, into: &out)
        }
        if headers.first == UInt8(ascii: "{") {
            if !first { out.append(UInt8(ascii: ",")) }
            out.append(contentsOf: #""headers":"#.utf8)
            out.append(contentsOf: headers)
        }
        out.append(contentsOf: "}}".utf8)
        return out
    }
}
