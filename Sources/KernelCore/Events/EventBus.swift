import CKernelABI
import Dispatch
import Synchronization

/// Publish/subscribe: every event goes to the pubsub service first when one
/// is registered (it stores the event and reaches remote subscribers), then
/// to every in-process handler whose pattern matches, on one serial event
/// queue, so each handler sees a topic's events in publish order and never
/// inside `publish`.
final class EventBus: Sendable {
    private let registry: Registry
    private let queue = DispatchQueue(label: "kernel.events")
    private let nextID = Atomic<UInt64>(1)
    /// Events waiting for the queue: one drain takes all of them, so a burst
    /// of publishes costs one hop to the queue, not one each.
    private let pending = Mutex<(events: [(Publication, [EventHandlerEntry])], draining: Bool)>(([], false))

    init(registry: Registry) { self.registry = registry }

    /// What a publish reports: the status, the offset (0: not stored) and why, when refused.
    typealias Done = @Sendable (kn_status, UInt64, String) -> Void

    /// The kernel's own events (`kernel.*`): to in-process handlers only.
    func publish(topic: String, payload: [UInt8], publisher: String) -> kn_status {
        guard Publication.isValidTopic(topic) else { return KN_ERR_INVALID_ARGUMENT }
        deliverLocally(Publication(topic: topic, payload: payload, publisher: publisher,
                                   publishedAt: currentMilliseconds(), context: .none))
        return KN_OK
    }

    /// A plugin's publish (host->publish_event): through the pubsub service
    /// when there is one, then to the handlers. `done` runs exactly once
    /// when the result is KN_OK.
    func publish(_ publication: Publication, from plugin: OpaquePointer?, done: Done?) -> kn_status {
        guard Publication.isValidTopic(publication.topic) else { return KN_ERR_INVALID_ARGUMENT }
        let route = registry.route(publishing: publication.topic)
        guard let service = route.pubsub.flatMap(Self.pubsubTable) else {
            deliver(publication, to: route.handlers)
            done?(KN_OK, 0, "")
            return KN_OK
        }
        let handOver = HandOver(publication: publication, bus: self, done: done)
        let context = Unmanaged.passRetained(handOver).toOpaque()
        let status = publication.withEvent { service.pointee.publish(plugin, $0, HandOver.stored, context) }
        if status != KN_OK {
            Unmanaged<HandOver>.fromOpaque(context).release()
            return status
        }
        return KN_OK
    }

    /// Waits, at most `milliseconds`, until the handlers have had every
    /// event published before: the queue is serial, and a drain under way
    /// takes what was pending before it returns.
    @discardableResult
    func flush(milliseconds: Int) -> Bool {
        let done = DispatchSemaphore(value: 0)
        queue.async { done.signal() }
        return done.wait(timeout: .now() + .milliseconds(milliseconds)) == .success
    }

    /// Hands `publication` to the handlers of matching patterns, in order.
    func deliverLocally(_ publication: Publication) {
        deliver(publication, to: registry.beginEventHandlers(for: publication.topic))
    }

    /// `handlers` were begun (beginCall) for it.
    private func deliver(_ publication: Publication, to handlers: [EventHandlerEntry]) {
        guard !handlers.isEmpty else { return }
        publication.id = nextID.add(1, ordering: .relaxed).oldValue
        let startDrain = pending.withLock { pending -> Bool in
            pending.events.append((publication, handlers))
            defer { pending.draining = true }
            return !pending.draining
        }
        if startDrain { queue.async { self.drain() } }
    }

    /// On the event queue: delivers what is pending, in publish order, until nothing is.
    private func drain() {
        while true {
            let batch = pending.withLock { pending -> [(Publication, [EventHandlerEntry])] in
                defer { pending.events.removeAll(keepingCapacity: true) }
                if pending.events.isEmpty { pending.draining = false }
                return pending.events
            }
            if batch.isEmpty { return }
            for (publication, handlers) in batch {
                publication.withEvent { event in
                    for handler in handlers {
                        handler.function(handler.userData, event)
                        handler.owner.endCall()
                    }
                }
            }
        }
    }

    /// The pubsub service's table, when its provider's has `publish`.
    private static func pubsubTable(_ entry: ServiceEntry) -> UnsafePointer<kn_pubsub_api>? {
        let table = entry.table.assumingMemoryBound(to: kn_pubsub_api.self)
        let needed = MemoryLayout<kn_pubsub_api>.offset(of: \kn_pubsub_api.publish)! + MemoryLayout<UInt>.size
        guard Int(table.pointee.struct_size) >= needed, table.pointee.publish != nil else { return nil }
        return table
    }
}

/// One publish waiting for the pubsub service's answer: then the handlers, then the publisher.
private final class HandOver: @unchecked Sendable {
    let publication: Publication
    let bus: EventBus
    let done: EventBus.Done?

    init(publication: Publication, bus: EventBus, done: EventBus.Done?) {
        self.publication = publication
        self.bus = bus
        self.done = done
    }

    static let stored: kn_publish_done_fn = { context, status, offset, message in
        let handOver = Unmanaged<HandOver>.fromOpaque(context!).takeRetainedValue()
        if status == KN_OK {
            handOver.publication.offset = offset
            handOver.bus.deliverLocally(handOver.publication)
        }
        handOver.done?(status, status == KN_OK ? offset : 0,
                       status == KN_OK ? "" : message.map { String(cString: $0) } ?? Status.name(status))
    }
}
