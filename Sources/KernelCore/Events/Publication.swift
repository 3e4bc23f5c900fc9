import CKernelABI

/// Whom an event concerns (kn_event_context), as the kernel keeps it.
struct EventContext: Sendable {
    var user: String?
    var tenant: String?
    var session: String?
    var requestID: String?
    /// A JSON object of strings; empty: none.
    var headers: [UInt8] = []

    static let none = EventContext()

    /// The context of an event published while `call` is served: its `auth.*` and request id.
    init(of call: Call) {
        func text(_ key: String) -> String? { call.meta(key).map { $0.bytes.string } }
        user = text("auth.subject")
        tenant = text("auth.tenant")
        session = text("auth.session")
        requestID = text("request.id")
    }

    init() {}

    /// `explicit`'s non-NULL fields override.
    mutating func override(with explicit: kn_event_context) {
        func text(_ pointer: UnsafePointer<CChar>?) -> String? { pointer.map { String(cString: $0) } }
        if let user = text(explicit.user) { self.user = user }
        if let tenant = text(explicit.tenant) { self.tenant = tenant }
        if let session = text(explicit.session) { self.session = session }
        if let requestID = text(explicit.request_id) { self.requestID = requestID }
        if explicit.headers.ptr != nil, explicit.headers.len > 0 { headers = explicit.headers.array }
    }
}

/// One published event, before and after the store gave it an offset. A
/// class: it is handed from thread to thread, and a copy is one retain.
/// `id` and `offset` are set once, by whoever holds it then (the bus, the
/// store's answer), before it is handed on.
final class Publication: @unchecked Sendable {
    let topic: String
    let payload: [UInt8]
    let publisher: String
    let publishedAt: Int64
    let context: EventContext
    var id: UInt64 = 0
    var offset: UInt64 = 0

    init(topic: String, payload: [UInt8], publisher: String, publishedAt: Int64, context: EventContext) {
        self.topic = topic
        self.payload = payload
        self.publisher = publisher
        self.publishedAt = publishedAt
        self.context = context
    }

    /// The rule of host->publish_event: no wildcard, no empty segment, at most 255 bytes.
    static func isValidTopic(_ topic: String) -> Bool {
        let bytes = topic.utf8
        guard !bytes.isEmpty, bytes.count <= 255, bytes.first != UInt8(ascii: "."), bytes.last != UInt8(ascii: ".")
        else { return false }
        var previous: UInt8 = 0
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "*"), UInt8(ascii: "#"), UInt8(ascii: ">"), 0: return false
            case UInt8(ascii: ".") where previous == UInt8(ascii: "."): return false
            default: previous = byte
            }
        }
        return true
    }

    /// Lends it as a kn_event for the duration of `body`. Swift strings
    /// are lent as they are stored (NUL-terminated): nothing is copied.
    func withEvent<T>(_ body: (UnsafePointer<kn_event>) -> T) -> T {
        var event = kn_event()
        event.struct_size = UInt32(MemoryLayout<kn_event>.size)
        event.id = id
        event.published_at_ms = publishedAt
        event.offset = offset
        return topic.withCString { topic in
            publisher.withCString { publisher in
                payload.withUnsafeBufferPointer { payload in
                    context.headers.withUnsafeBufferPointer { headers in
                        withOptionalCString(context.user) { user in
                            withOptionalCString(context.tenant) { tenant in
                                withOptionalCString(context.session) { session in
                                    withOptionalCString(context.requestID) { requestID in
                                        event.topic = topic
                                        event.publisher = publisher
                                        event.payload = kn_bytes(ptr: payload.baseAddress, len: payload.count)
                                        event.context.user = user
                                        event.context.tenant = tenant
                                        event.context.session = session
                                        event.context.request_id = requestID
                                        event.context.headers = kn_bytes(ptr: headers.baseAddress, len: headers.count)
                                        return withUnsafePointer(to: &event, body)
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

private func withOptionalCString<T>(_ string: String?, _ body: (UnsafePointer<CChar>?) -> T) -> T {
    guard let string else { return body(nil) }
    return string.withCString { body($0) }
}
