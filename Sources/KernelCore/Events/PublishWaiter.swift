import CKernelABI
import Dispatch
import Synchronization

/// host->publish, the 1.0 function: its KN_OK means published, so with the
/// pubsub service it waits (bounded) until the event is stored.
enum PublishWaiter {
    static let limit: DispatchTimeInterval = .seconds(10)

    static func publish(_ publication: Publication, on bus: EventBus, from plugin: OpaquePointer) -> kn_status {
        let answer = Answer()
        let status = bus.publish(publication, from: plugin) { status, _, _ in answer.set(status) }
        guard status == KN_OK else { return status }
        return answer.wait(limit) ?? KN_ERR_UNAVAILABLE
    }

    private final class Answer: Sendable {
        private let semaphore = DispatchSemaphore(value: 0)
        private let status = Mutex<kn_status>(KN_OK)

        func set(_ value: kn_status) {
            status.withLock { $0 = value }
            semaphore.signal()
        }

        func wait(_ limit: DispatchTimeInterval) -> kn_status? {
            guard semaphore.wait(timeout: .now() + limit) == .success else { return nil }
            return status.withLock { $0 }
        }
    }
}

/// A plugin's `user_data`, carried to the thread that calls it back.
struct UncheckedPointer: @unchecked Sendable {
    let pointer: UnsafeMutableRawPointer?
    init(_ pointer: UnsafeMutableRawPointer?) { self.pointer = pointer }
}
