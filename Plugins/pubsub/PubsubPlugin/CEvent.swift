import CKernelABI
import Glibc

extension StoredEvent {
    /// Lends the event as a kn_event for the duration of `body` (filters, consumers).
    func withEvent<T>(_ body: (UnsafePointer<kn_event>) -> T) -> T {
        let strings = [self.topic, self.publisher, self.user, self.tenant, self.session, self.requestID].map { $0.map { strdup($0)! } }
        defer { for string in strings { free(string) } }
        return self.payload.withUnsafeBufferPointer { payload in
            self.headers.withUnsafeBufferPointer { headers in
                var event = kn_event()
                event.struct_size = UInt32(MemoryLayout<kn_event>.size)
                event.topic = UnsafePointer(strings[0])
                event.payload = kn_bytes(ptr: payload.baseAddress, len: payload.count)
                event.id = offset
                event.publisher = UnsafePointer(strings[1])
                event.published_at_ms = self.createdAt
                event.offset = offset
                event.context.user = UnsafePointer(strings[2])
                event.context.tenant = UnsafePointer(strings[3])
                event.context.session = UnsafePointer(strings[4])
                event.context.request_id = UnsafePointer(strings[5])
                event.context.headers = kn_bytes(ptr: headers.baseAddress, len: headers.count)
                return withUnsafePointer(to: &event, body)
            }
        }
    }
}

extension Viewer {
    func withSubscriber<T>(_ body: (UnsafePointer<kn_subscriber>) -> T) -> T {
        let strings = [user, tenant, rolesText, protocolName].map { $0.map { strdup($0)! } }
        defer { for string in strings { free(string) } }
        var subscriber = kn_subscriber()
        subscriber.struct_size = UInt32(MemoryLayout<kn_subscriber>.size)
        subscriber.user = UnsafePointer(strings[0])
        subscriber.tenant = UnsafePointer(strings[1])
        subscriber.roles = UnsafePointer(strings[2])
        subscriber.protocol = UnsafePointer(strings[3])
        return withUnsafePointer(to: &subscriber, body)
    }
}
