import CKernelABI
import Synchronization

/// One delivery to a durable consumer (kn_delivery): the consumer's loop
/// waits on it until the plugin calls delivery_done.
final class Delivery: Sendable {
    enum Outcome: Sendable { case acknowledged, failure(String) }
    private let state = Mutex<(continuation: CheckedContinuation<Outcome, Never>?, outcome: Outcome?)>((nil, nil))

    /// Delivers and waits for delivery_done; a cancellation (the consumer
    /// is removed) stops the wait, and a later delivery_done only frees the handle.
    static func run(_ event: StoredEvent, attempt: UInt32, _ definition: ConsumerDefinition) async -> Outcome {
        let delivery = Delivery()
        let handle = OpaquePointer(Unmanaged.passRetained(delivery).toOpaque())
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let early = delivery.state.withLock { state -> Outcome? in
                    if let outcome = state.outcome { return outcome }
                    state.continuation = continuation
                    return nil
                }
                if let early { continuation.resume(returning: early); return }
                event.withEvent { definition.handler(definition.userData, $0, attempt, handle) }
            }
        } onCancel: {
            let continuation = delivery.state.withLock { state -> CheckedContinuation<Outcome, Never>? in
                defer { state.continuation = nil }
                if state.continuation == nil, state.outcome == nil { state.outcome = .failure("the consumer was removed") }
                return state.continuation
            }
            continuation?.resume(returning: .failure("the consumer was removed"))
        }
    }

    static func finish(_ handle: OpaquePointer, status: kn_status, message: String?) {
        let delivery = Unmanaged<Delivery>.fromOpaque(UnsafeRawPointer(handle)).takeRetainedValue()
        let outcome: Outcome = status == KN_OK ? .acknowledged : .failure(message ?? "failed (status \(status))")
        let continuation = delivery.state.withLock { state -> CheckedContinuation<Outcome, Never>? in
            defer { state.continuation = nil }
            if state.continuation == nil { state.outcome = outcome }
            return state.continuation
        }
        continuation?.resume(returning: outcome)
    }
}
