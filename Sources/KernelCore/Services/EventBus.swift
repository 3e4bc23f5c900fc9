import CKernelABI
import Dispatch
import Synchronization

/// In-process publish/subscribe: events go to every handler whose pattern
/// matches, on one serial event queue, so each handler sees a topic's events
/// in publish order and never inside `publish`.
final class EventBus: Sendable {
    private let registry: Registry
    private let queue = DispatchQueue(label: "kernel.events")
    private let nextID = Atomic<UInt64>(1)

    init(registry: Registry) { self.registry = registry }

    func publish(topic: String, payload: [UInt8], publisher: String) -> kn_status {
        guard !topic.isEmpty, !topic.utf8.contains(where: { $0 == UInt8(ascii: "*") || $0 == UInt8(ascii: "#") }) else {
            return KN_ERR_INVALID_ARGUMENT
        }
        let id = nextID.add(1, ordering: .relaxed).oldValue
        let publishedAt = currentMilliseconds()
        let handlers = registry.beginEventHandlers(for: topic)
        guard !handlers.isEmpty else { return KN_OK }
        queue.async {
            let topicBuffer = OwnedBuffer(topic)
            let payloadBuffer = OwnedBuffer(payload)
            let publisherBuffer = OwnedBuffer(publisher)
            var event = kn_event()
            event.struct_size = UInt32(MemoryLayout<kn_event>.size)
            event.topic = topicBuffer.cString
            event.payload = payloadBuffer.bytes
            event.id = id
            event.publisher = publisherBuffer.cString
            event.published_at_ms = publishedAt
            withUnsafePointer(to: &event) { event in
                for handler in handlers {
                    handler.function(handler.userData, event)
                    handler.owner.endCall()
                }
            }
            withExtendedLifetime((topicBuffer, payloadBuffer, publisherBuffer)) {}
        }
        return KN_OK
    }
}
