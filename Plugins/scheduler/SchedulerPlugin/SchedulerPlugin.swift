import CKernelABI
import Foundation
import KernelSDK
import Synchronization

/// The `scheduler` core plugin: durable jobs and cron schedules on the
/// storage service. It serves the kernel's `job_enqueue` and `job_submit`
/// as service "scheduler" 1.0 (Protocols/kn_scheduler.h), fires the
/// schedules plugins declare and operators add, and answers `kernelctl
/// jobs`, `queues` and `schedules` through admin-only endpoints.
struct SchedulerPlugin: Plugin {
    static let name = "scheduler"
    static let version = "1.0.0"
    static let description = "Durable background jobs, queues and cron schedules on the storage service"
    static let dependsOn = ["storage"]

    func register(with kernel: PluginContext) async throws {
        let settings = try SchedulerSettings(kernel)
        let storage = try kernel.storage()
        try await storage.sql.migrate(Schema.migrations(backend: storage.backend))
        let store = JobStore(kernel: kernel, postgres: storage.backend == "postgres", node: ProcessIdentity.node,
                             keepCompleted: settings.completedRetention > 0)
        try await store.heartbeat()
        let rescued = try await store.rescue(claimedBy: try await store.abandonedOwners(staleAfter: SchedulerRuntime.staleAfter))
        if rescued > 0 { kernel.log(.warning, "scheduler: \(rescued) jobs were running in a kernel that stopped; they run again") }
        var queues = try QueueSettings.configured(kernel)
        try await QueueStore(store: store).applyOverrides(to: &queues)
        let telemetry = Telemetry(kernel: kernel)
        let dispatcher = Dispatcher(kernel: kernel, store: store, queues: queues, backoff: settings.backoff,
                                    telemetry: telemetry, pollMilliseconds: settings.pollMilliseconds)
        let fires = PendingFires()
        let engine = ScheduleEngine(kernel: kernel, store: store, dispatcher: dispatcher, telemetry: telemetry, fires: fires)
        let runtime = SchedulerRuntime(kernel: kernel, settings: settings, store: store, dispatcher: dispatcher,
                                       inserter: Inserter(store: store), engine: engine, fires: fires)
        SchedulerRuntime.current.withLock { $0 = runtime }
        let status = kernel.host.pointee.register_service(
            kernel.handle, KN_SCHEDULER_SERVICE, UInt32(KN_SCHEDULER_MAJOR), UInt32(KN_SCHEDULER_MINOR),
            UnsafeRawPointer(ServiceTable.shared))
        guard status == KN_OK else { throw PluginError(.init(status: status), "cannot register service 'scheduler'") }
        kernel.on("kernel.plugin.#") { _ in
            dispatcher.stageSoon()
            engine.unblock()
        }
        kernel.on("kernel.schedules.changed") { _ in engine.requestResync() }
        OperatorEndpoints.register(with: kernel, runtime: runtime)
        kernel.log(.info, "scheduler ready on \(storage.backend): queues \(queues.keys.sorted().joined(separator: ", "))")
    }

    func start(_ kernel: PluginContext) async throws {
        guard let runtime = SchedulerRuntime.current.withLock({ $0 }) else { return }
        runtime.dispatcher.start()
        runtime.engine.start()
        runtime.startPruning()
        runtime.startGauges()
    }

    func stop(_ kernel: PluginContext) async {
        guard let runtime = SchedulerRuntime.current.withLock({ current -> SchedulerRuntime? in
            defer { current = nil }
            return current
        }) else { return }
        runtime.stopPruning()
        await runtime.engine.stop()
        await runtime.dispatcher.stop(grace: runtime.settings.shutdownGrace)
        // Gone from the live instances: whatever this one could not write back is taken over at once.
        try? await runtime.store.leave()
    }
}

@_cdecl("kn_plugin_entry")
public func entry(_ host: UnsafeRawPointer?) -> UnsafeRawPointer? { export(SchedulerPlugin.self, host: host) }
