import CKernelABI
import Foundation
import KernelSDK
import Synchronization
import TopicPatterns

/// A durable consumer as a plugin defined it (kn_consumer_def).
struct ConsumerDefinition: @unchecked Sendable {
    let handle: UInt64
    let name: String
    let owner: String
    let pattern: TopicPattern
    let handler: kn_consume_fn
    let userData: UnsafeMutableRawPointer?
    let maxAttempts: UInt32
    let backoffMilliseconds: UInt64
    let startAt: Int64
}

/// The running durable consumers: each reads the log from its stored
/// cursor, one delivery at a time, at least once.
final class Consumers: Sendable {
    private let store: EventStore
    private let hub: Hub
    private let authorizer: Authorizer
    private let kernel: PluginContext
    private let running = Mutex<[UInt64: ConsumerRunner]>([:])

    init(store: EventStore, hub: Hub, authorizer: Authorizer, kernel: PluginContext) {
        self.store = store
        self.hub = hub
        self.authorizer = authorizer
        self.kernel = kernel
    }

    /// KN_ERR_CONFLICT when the name is in use by another running plugin; nil when started.
    func start(_ definition: ConsumerDefinition) -> kn_status? {
        let runner = ConsumerRunner(definition, store: store, authorizer: authorizer, kernel: kernel)
        let replaced = running.withLock { running -> [ConsumerRunner]? in
            let same = running.filter { $0.value.definition.name == definition.name }
            if same.contains(where: { $0.value.definition.owner != definition.owner }) { return nil }
            // The owner's new version (a reload) takes the name over.
            for handle in same.keys { running[handle] = nil }
            running[definition.handle] = runner
            return Array(same.values)
        }
        guard let replaced else {
            kernel.log(.error, "pubsub: consumer '\(definition.name)' is in use by another plugin")
            return KN_ERR_CONFLICT
        }
        for old in replaced {
            hub.removeWaiter(old)
            old.stop()
        }
        hub.addWaiter(runner) { runner.wake() }
        // One delivery at a time per consumer: the new one starts when the old ones have stopped.
        runner.start(after: replaced)
        return nil
    }

    func stop(handle: UInt64, owner: String) {
        let runner = running.withLock { running -> ConsumerRunner? in
            guard running[handle]?.definition.owner == owner else { return nil }
            return running.removeValue(forKey: handle)
        }
        if let runner { hub.removeWaiter(runner); runner.stop() }
    }

    func stopAll(of owner: String? = nil) {
        let stopped = running.withLock { running -> [ConsumerRunner] in
            let matching = running.filter { owner == nil || $0.value.definition.owner == owner }
            for key in matching.keys { running[key] = nil }
            return Array(matching.values)
        }
        for runner in stopped { hub.removeWaiter(runner); runner.stop() }
    }

    var snapshot: [ConsumerRunner] { running.withLock { Array($0.values) } }
}
