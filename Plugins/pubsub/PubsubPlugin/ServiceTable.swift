import CKernelABI
import EnvelopeJSON
import Foundation
import KernelSDK
import Synchronization
import TopicPatterns

/// Service "pubsub" 1.0 (Protocols/kn_pubsub.h): the table the kernel hands
/// publishes to, and that plugins add filters, rules and consumers through.
/// A table outlives a reload of this plugin: calls reach the running
/// version (PubsubRuntime.current) or fail with KN_ERR_UNAVAILABLE.
enum ServiceTable {
    nonisolated(unsafe) static let shared: UnsafeMutablePointer<kn_pubsub_api> = {
        let table = UnsafeMutablePointer<kn_pubsub_api>.allocate(capacity: 1)
        var api = kn_pubsub_api()
        api.struct_size = UInt32(MemoryLayout<kn_pubsub_api>.size)
        api.publish = { caller, event, done, userData in
            guard let event, let done else { return KN_ERR_INVALID_ARGUMENT }
            guard let runtime = PubsubRuntime.current.withLock({ $0 }) else { return KN_ERR_UNAVAILABLE }
            let topic = event.pointee.topic.map { String(cString: $0) } ?? ""
            let publisher = event.pointee.publisher.map { String(cString: $0) } ?? "kernel"
            let token = UncheckedPointer(userData)
            guard runtime.authorizer.mayPublish(event, topic: topic, publisher: publisher) else {
                done(token.pointer, KN_ERR_FORBIDDEN, 0, "publishing on '\(topic)' is not allowed for \(publisher)")
                return KN_OK
            }
            runtime.log.publish(NewEvent(event.pointee, topic: topic, publisher: publisher)) { result in
                switch result {
                case .success(let offset): done(token.pointer, KN_OK, offset, nil)
                case .failure(let error): done(token.pointer, error.code.status, 0, error.message)
                }
            }
            return KN_OK
        }
        api.add_filter = { caller, pattern, allow, userData, handle in
            guard let caller, let pattern, let allow else { return KN_ERR_INVALID_ARGUMENT }
            return register(caller, pattern, handle) { runtime, owner, checked, id in
                runtime.authorizer.add(.init(owner: owner, pattern: checked, allow: allow, userData: userData), handle: id)
            }
        }
        api.add_publish_rule = { caller, pattern, allow, userData, handle in
            guard let caller, let pattern, let allow else { return KN_ERR_INVALID_ARGUMENT }
            return register(caller, pattern, handle) { runtime, owner, checked, id in
                runtime.authorizer.add(.init(owner: owner, pattern: checked, allow: allow, userData: userData), handle: id)
            }
        }
        api.consume = { caller, def, handle in
            guard let caller, let def, def.pointee.struct_size >= UInt32(MemoryLayout<kn_consumer_def>.size),
                  let name = def.pointee.name, let pattern = def.pointee.pattern, let handler = def.pointee.handler
            else { return KN_ERR_INVALID_ARGUMENT }
            return register(caller, String(cString: pattern), handle) { runtime, owner, checked, id in
                runtime.consumers.start(ConsumerDefinition(
                    handle: id, name: String(cString: name), owner: owner, pattern: checked, handler: handler,
                    userData: def.pointee.user_data, maxAttempts: def.pointee.max_attempts == 0 ? 5 : def.pointee.max_attempts,
                    backoffMilliseconds: def.pointee.backoff_ms == 0 ? 1_000 : def.pointee.backoff_ms,
                    startAt: def.pointee.start_at_ms))
            }
        }
        api.delivery_done = { delivery, status, message in
            guard let delivery else { return }
            Delivery.finish(delivery, status: status, message: message.map { String(cString: $0) })
        }
        api.remove = { caller, handle in
            guard let caller, let runtime = PubsubRuntime.current.withLock({ $0 }) else { return }
            let owner = runtime.kernel.host.pointee.plugin_name(caller).map { String(cString: $0) } ?? ""
            if !runtime.authorizer.remove(handle, owner: owner) { runtime.consumers.stop(handle: handle, owner: owner) }
        }
        table.initialize(to: api)
        return table
    }()

    private static let nextHandle = Atomic<UInt64>(1)

    /// Checks the pattern and hands a fresh handle to `add`, which may refuse.
    private static func register(_ caller: OpaquePointer, _ pattern: String, _ handle: UnsafeMutablePointer<UInt64>?,
                                 _ add: (PubsubRuntime, String, TopicPattern, UInt64) -> kn_status?) -> kn_status {
        guard let runtime = PubsubRuntime.current.withLock({ $0 }) else { return KN_ERR_UNAVAILABLE }
        let checked: TopicPattern
        do {
            checked = try TopicPattern(validating: pattern)
        } catch {
            runtime.kernel.log(.error, "pubsub: \(error)")
            return KN_ERR_INVALID_ARGUMENT
        }
        let owner = runtime.kernel.host.pointee.plugin_name(caller).map { String(cString: $0) } ?? ""
        let id = nextHandle.add(1, ordering: .relaxed).oldValue
        if let refusal = add(runtime, owner, checked, id) { return refusal }
        handle?.pointee = id
        return KN_OK
    }

    private static func register(_ caller: OpaquePointer, _ pattern: UnsafePointer<CChar>, _ handle: UnsafeMutablePointer<UInt64>?,
                                 _ add: (PubsubRuntime, String, TopicPattern, UInt64) -> Void) -> kn_status {
        register(caller, String(cString: pattern), handle) { runtime, owner, checked, id -> kn_status? in
            add(runtime, owner, checked, id)
            return nil
        }
    }
}

/// A plugin's `user_data`, carried to the thread that calls it back.
struct UncheckedPointer: @unchecked Sendable {
    let pointer: UnsafeMutableRawPointer?
    init(_ pointer: UnsafeMutableRawPointer?) { self.pointer = pointer }
}

extension NewEvent {
    init(_ event: kn_event, topic: String, publisher: String) {
        func text(_ pointer: UnsafePointer<CChar>?) -> String? { pointer.map { String(cString: $0) } }
        let has13 = Int(event.struct_size) >= MemoryLayout<kn_event>.size
        self.init(id: EventLog.newID(), topic: topic, payload: WireJSON.normalized(event.payload.copiedBytes),
                  createdAt: event.published_at_ms > 0 ? event.published_at_ms : WireJSON.now(), publisher: publisher,
                  user: has13 ? text(event.context.user) : nil, tenant: has13 ? text(event.context.tenant) : nil,
                  session: has13 ? text(event.context.session) : nil, requestID: has13 ? text(event.context.request_id) : nil,
                  headers: has13 ? Self.checkedHeaders(event.context.headers.copiedBytes) : [])
    }

    /// Headers are written into the wire form as they are: only a JSON object is kept.
    private static func checkedHeaders(_ bytes: [UInt8]) -> [UInt8] {
        guard bytes.first == UInt8(ascii: "{"), bytes.withUnsafeBytes({ JSONScanner.isValue($0) }) else { return [] }
        return bytes.contains(where: { $0 == 0x0A || $0 == 0x0D }) ? bytes.map { $0 == 0x0A || $0 == 0x0D ? 0x20 : $0 } : bytes
    }
}
