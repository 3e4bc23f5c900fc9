import KernelSDK
import Synchronization

/// Everything one running version of the plugin holds.
final class PubsubRuntime: Sendable {
    static let current = Mutex<PubsubRuntime?>(nil)

    let kernel: PluginContext
    let settings: PubsubSettings
    let store: EventStore
    let hub: Hub
    let authorizer: Authorizer
    let log: EventLog
    let consumers: Consumers
    private let retention = Mutex<Task<Void, Never>?>(nil)

    init(kernel: PluginContext, settings: PubsubSettings, store: EventStore) {
        self.kernel = kernel
        self.settings = settings
        self.store = store
        authorizer = Authorizer(adminRoles: settings.adminRoles)
        hub = Hub(authorizer: authorizer)
        log = EventLog(settings: settings, store: store, hub: hub)
        consumers = Consumers(store: store, hub: hub, authorizer: authorizer, kernel: kernel)
    }

    func startRetention() {
        let retention = Retention(store: store, rules: settings.retention, kernel: kernel)
        let interval = settings.retentionInterval
        self.retention.withLock {
            $0 = Task {
                while !Task.isCancelled {
                    await retention.run()
                    try? await Task.sleep(for: interval)
                }
            }
        }
    }

    func stop() {
        retention.withLock { $0?.cancel() }
        consumers.stopAll()
    }
}
