import Foundation
import KernelSDK

/// One event of the log, shared by every subscriber it goes to: its wire
/// form (Protocols/pubsub.md) is encoded once.
final class StoredEvent: Sendable {
    let offset: UInt64
    let id: String
    let topic: String
    let payload: [UInt8]
    let createdAt: Int64
    let publisher: String
    let user: String?
    let tenant: String?
    let session: String?
    let requestID: String?
    /// A JSON object of strings, or empty.
    let headers: [UInt8]
    /// `{"type":"event","offset":…,"eventId":…,…}`: the envelope's form, whose
    /// `id` is the subscription's (the transport puts it first).
    let json: [UInt8]

    /// `payload` is a JSON value already normalized by `WireJSON.normalized` (the form the log stores).
    init(offset: UInt64, id: String, topic: String, payload: [UInt8], createdAt: Int64, publisher: String,
         user: String?, tenant: String?, session: String?, requestID: String?, headers: [UInt8]) {
        self.offset = offset
        self.id = id
        self.topic = topic
        self.payload = payload
        self.createdAt = createdAt
        self.publisher = publisher
        self.user = user
        self.tenant = tenant
        self.session = session
        self.requestID = requestID
        self.headers = headers
        json = Self.encode(offset: offset, id: id, topic: topic, payload: payload, createdAt: createdAt,
                           publisher: publisher, user: user, tenant: tenant, session: session, requestID: requestID,
                           headers: headers)
    }

    static let columns = "event_offset, id, topic, payload, created_at, publisher, user_id, tenant, session, request_id, headers"

    /// A row of `SELECT \(columns)`, by position (catch-up reads many: no lookup by name).
    convenience init(_ row: SQLRow) {
        self.init(offset: UInt64(max(0, row[0].int ?? 0)), id: row[1].string ?? "",
                  topic: row[2].string ?? "", payload: Array((row[3].string ?? "null").utf8),
                  createdAt: row[4].int ?? 0, publisher: row[5].string ?? "",
                  user: row[6].string, tenant: row[7].string, session: row[8].string,
                  requestID: row[9].string, headers: Array((row[10].string ?? "").utf8))
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

    private static func encode(offset: UInt64, id: String, topic: String, payload: [UInt8], createdAt: Int64,
                               publisher: String, user: String?, tenant: String?, session: String?, requestID: String?,
                               headers: [UInt8]) -> [UInt8] {
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
