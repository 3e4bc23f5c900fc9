import NIOCore

/// The messages of a subscription (Protocols/ws-envelope.md section 10).
/// Pure functions: any thread.
extension ServerMessage {
    /// One item of a subscription: the handler's JSON object with the
    /// client's id spliced in first, `{"id":7,` + the item after its `{`.
    /// One event fans out to many subscribers, so the item is copied, never
    /// decoded. An item that is not an object goes out as a plain `item`.
    package static func subscriptionItem(id: String, item: ByteBuffer, into buffer: inout ByteBuffer) {
        let bytes = item.readableBytesView
        guard bytes.first == UInt8(ascii: "{") else { return self.item(id: id, payload: item, into: &buffer) }
        let rest = bytes.dropFirst()
        buffer.writeString(#"{"id":"#)
        buffer.writeString(id)
        // `{}` (or `{ }`) has no member to put a comma before.
        let firstMember = rest.first { $0 != 0x20 && $0 != 0x0A && $0 != 0x0D && $0 != 0x09 }
        if firstMember != UInt8(ascii: "}") { buffer.writeInteger(UInt8(ascii: ",")) }
        buffer.writeBytes(rest)
    }

    /// `{"type":"unsubscribed","id":…}`: the last message of a subscription the client ended.
    package static func unsubscribed(id: String, into buffer: inout ByteBuffer) {
        buffer.writeString(#"{"type":"unsubscribed","id":"#)
        buffer.writeString(id)
        buffer.writeInteger(UInt8(ascii: "}"))
    }
}
