import CKernelABI
import Synchronization

/// What a plugin adds to the pubsub plugin's event log (Protocols/kn_pubsub.h):
/// durable consumers, subscriber filters and publish rules. List "pubsub"
/// in `dependsOn`. Each is removed when the plugin stops. Any thread.
extension PluginContext {
    /// Where a new durable consumer starts (one with a stored cursor resumes from it).
    public enum ConsumerStart: Sendable {
        /// Events published from now on.
        case newEvents
        /// Every event the log still keeps.
        case oldest
        /// Events at or after a time (Unix milliseconds).
        case time(Int64)

        var milliseconds: Int64 {
            switch self {
            case .newEvents: 0
            case .oldest: -1
            case .time(let value): max(1, value)
            }
        }
    }

    /// A durable consumer: every event matching `pattern`, at least once,
    /// in offset order, one at a time, from a cursor stored under `name` (so
    /// it resumes after a crash or a reload). A handler that throws is
    /// retried with backoff; after `maxAttempts` the event is put aside as
    /// dead and the consumer moves on.
    ///
    /// ```swift
    /// try kernel.consume("billing.invoices", pattern: "orders.#") { event in
    ///     try await invoices.record(try event.decode(Order.self))
    /// }
    /// ```
    public func consume(_ name: String, pattern: String, maxAttempts: UInt32 = 5, backoff: Duration = .seconds(1),
                        startAt: ConsumerStart = .newEvents,
                        _ handler: @escaping @Sendable (Event) async throws -> Void) throws(PluginError) {
        try linkToPubsub("consumer '\(name)' on '\(pattern)'") { (api) throws(PluginError) -> UInt64 in
        let box = Unmanaged.passRetained(Retained(ConsumerBox(handler: handler, api: UncheckedTable(api)))).toOpaque()
        var def = kn_consumer_def()
        def.struct_size = UInt32(MemoryLayout<kn_consumer_def>.size)
        def.user_data = box
        def.max_attempts = maxAttempts
        let (seconds, attoseconds) = backoff.components
        def.backoff_ms = UInt64(max(1, seconds * 1_000 + attoseconds / 1_000_000_000_000_000))
        def.start_at_ms = startAt.milliseconds
        def.handler = { userData, event, _, delivery in
            let consumer = Unmanaged<Retained<ConsumerBox>>.fromOpaque(userData!).takeUnretainedValue().value
            let copy = Event(event!.pointee)
            let token = UncheckedDelivery(delivery)
            Task {
                do {
                    try await consumer.handler(copy)
                    consumer.api.api.pointee.delivery_done(token.pointer, KN_OK, nil)
                } catch {
                    let failure = PluginError(error)
                    consumer.api.api.pointee.delivery_done(token.pointer, failure.code.status, failure.message)
                }
            }
        }
        var handle: UInt64 = 0
        let status = name.withCString { name in
            pattern.withCString { pattern in
                def.name = name
                def.pattern = pattern
                return api.pointee.consume(self.handle, &def, &handle)
            }
        }
        guard status == KN_OK else {
            Unmanaged<Retained<ConsumerBox>>.fromOpaque(box).release()
            throw PluginError(.init(status: status), "cannot start consumer '\(name)' on '\(pattern)'")
        }
        return handle
        }
    }

    /// Narrows what remote subscribers and consumers see of the events
    /// matching `pattern`: `allow` runs for every delivery after the default
    /// rule allowed it. Keep it fast; it runs on the publishing path.
    ///
    /// ```swift
    /// try kernel.filterEvents("payroll.#") { _, subscriber in subscriber.roles.contains("hr") }
    /// ```
    public func filterEvents(_ pattern: String,
                             _ allow: @escaping @Sendable (Event, EventSubscriber) -> Bool) throws(PluginError) {
        try linkToPubsub("an event filter on '\(pattern)'") { (api) throws(PluginError) -> UInt64 in
        let box = Unmanaged.passRetained(Retained(allow)).toOpaque()
        var handle: UInt64 = 0
        let status = api.pointee.add_filter(self.handle, pattern, { userData, event, subscriber in
            let allow = Unmanaged<Retained<@Sendable (Event, EventSubscriber) -> Bool>>.fromOpaque(userData!).takeUnretainedValue().value
            return allow(Event(event!.pointee), EventSubscriber(subscriber!.pointee))
        }, box, &handle)
        guard status == KN_OK else { throw PluginError(.init(status: status), "cannot add an event filter on '\(pattern)'") }
        return handle
        }
    }

    /// A publish rule for the topics matching `pattern`: `allow` gets the
    /// topic, the event's context and the publisher (a plugin name);
    /// `false` refuses the publish with `forbidden`.
    ///
    /// ```swift
    /// try kernel.allowPublish("audit.#") { _, _, publisher in publisher == "audit" }
    /// ```
    public func allowPublish(_ pattern: String,
                             _ allow: @escaping @Sendable (String, EventContext, String) -> Bool) throws(PluginError) {
        try linkToPubsub("a publish rule on '\(pattern)'") { (api) throws(PluginError) -> UInt64 in
        let box = Unmanaged.passRetained(Retained(allow)).toOpaque()
        var handle: UInt64 = 0
        let status = api.pointee.add_publish_rule(self.handle, pattern, { userData, topic, context, publisher in
            let allow = Unmanaged<Retained<@Sendable (String, EventContext, String) -> Bool>>.fromOpaque(userData!).takeUnretainedValue().value
            return allow(String(cString: topic!), context.map { EventContext($0.pointee) } ?? EventContext(),
                         publisher.map { String(cString: $0) } ?? "")
        }, box, &handle)
        guard status == KN_OK else { throw PluginError(.init(status: status), "cannot add a publish rule on '\(pattern)'") }
        return handle
        }
    }

    private func pubsub() throws(PluginError) -> UnsafePointer<kn_pubsub_api> {
        var table: UnsafeRawPointer?
        let status = host.pointee.lookup_service(handle, KN_PUBSUB_SERVICE, UInt32(KN_PUBSUB_MAJOR), 0, &table, nil)
        guard status == KN_OK, let table else {
            throw PluginError(.unavailable, "the pubsub plugin is not loaded (list \"pubsub\" in dependsOn)")
        }
        return table.assumingMemoryBound(to: kn_pubsub_api.self)
    }

    /// Registers with the pubsub service now, again on each new version of
    /// it (a reload), and removes the registration when this plugin stops.
    private func linkToPubsub(_ what: String,
                              _ register: @escaping @Sendable (UnsafePointer<kn_pubsub_api>) throws(PluginError) -> UInt64) throws(PluginError) {
        let api = try pubsub()
        let link = PubsubLink(register: register, api: UncheckedTable(api), handle: try register(api))
        let first = pubsubLinks.withLock { links -> Bool in
            links.append(link)
            return links.count == 1
        }
        if first {
            on("kernel.plugin.reloaded") { [self] event in
                guard (try? event.decode([String: String].self))?["name"] == KN_PUBSUB_SERVICE else { return }
                guard let api = try? pubsub() else { return }
                for link in pubsubLinks.withLock({ $0 }) {
                    do {
                        link.relink(UncheckedTable(api), try link.register(api))
                    } catch {
                        log(.error, "pubsub reloaded: \(what): \(error)")
                    }
                }
            }
            let plugin = UncheckedDelivery(handle)
            afterStop.withLock { actions in
                actions.append { [self] in
                    for link in pubsubLinks.withLock({ $0 }) {
                        let (api, handle) = link.current
                        api.api.pointee.remove(plugin.pointer, handle)
                    }
                }
            }
        }
    }
}

/// One registration with the pubsub service, and where it lives now.
final class PubsubLink: Sendable {
    let register: @Sendable (UnsafePointer<kn_pubsub_api>) throws(PluginError) -> UInt64
    private let state: Mutex<(api: UncheckedTable, handle: UInt64)>

    init(register: @escaping @Sendable (UnsafePointer<kn_pubsub_api>) throws(PluginError) -> UInt64,
         api: UncheckedTable, handle: UInt64) {
        self.register = register
        state = Mutex((api, handle))
    }

    var current: (UncheckedTable, UInt64) { state.withLock { ($0.api, $0.handle) } }
    func relink(_ api: UncheckedTable, _ handle: UInt64) { state.withLock { $0 = (api, handle) } }
}

/// A subscriber as filters see it (kn_subscriber).
public struct EventSubscriber: Sendable {
    public let user: String?
    public let tenant: String?
    public let roles: Set<String>
    /// "ws", "tcp", "http", "admin", or "consumer".
    public let protocolName: String

    init(_ subscriber: kn_subscriber) {
        func text(_ pointer: UnsafePointer<CChar>?) -> String? { pointer.map { String(cString: $0) } }
        user = text(subscriber.user)
        tenant = text(subscriber.tenant)
        roles = Set((text(subscriber.roles) ?? "").split(separator: ",").map { String($0) })
        protocolName = text(subscriber.protocol) ?? ""
    }
}

/// A consumer's handler with the table that delivers to it (the answer goes back to that version).
private struct ConsumerBox: Sendable {
    let handler: @Sendable (Event) async throws -> Void
    let api: UncheckedTable
}

private struct UncheckedDelivery: @unchecked Sendable {
    let pointer: OpaquePointer?
    init(_ pointer: OpaquePointer?) { self.pointer = pointer }
}

struct UncheckedTable: @unchecked Sendable {
    let api: UnsafePointer<kn_pubsub_api>
    init(_ api: UnsafePointer<kn_pubsub_api>) { self.api = api }
}
