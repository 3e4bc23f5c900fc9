/// An event to store: what a publish carries, before it has an offset.
struct NewEvent: Sendable {
    var id: String
    var topic: String
    var payload: [UInt8]
    var createdAt: Int64
    var publisher: String
    var user: String?
    var tenant: String?
    var session: String?
    var requestID: String?
    var headers: [UInt8]

    func stored(at offset: UInt64) -> StoredEvent { StoredEvent(offset: offset, self) }
}
