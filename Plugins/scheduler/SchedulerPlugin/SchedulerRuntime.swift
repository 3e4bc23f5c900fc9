import CKernelABI
import Foundation
import KernelSDK
import Synchronization

/// The running scheduler, as the C service table finds it.
final class SchedulerRuntime: Sendable {
    static let current = Mutex<SchedulerRuntime?>(nil)

    let kernel: PluginContext
    let settings: SchedulerSettings
    let store: JobStore
    let dispatcher: Dispatcher
    let inserter: Inserter
    let engine: ScheduleEngine
    let fires: PendingFires
    private let pruning = Mutex<Task<Void, Never>?>(nil)
    private let gauges = Mutex<Task<Void, Never>?>(nil)

    init(kernel: PluginContext, settings: SchedulerSettings, store: JobStore, dispatcher: Dispatcher, inserter: Inserter,
         engine: ScheduleEngine, fires: PendingFires) {
        self.kernel = kernel
        self.settings = settings
        self.store = store
        self.dispatcher = dispatcher
        self.inserter = inserter
        self.engine = engine
        self.fires = fires
    }

    /// `kn_scheduler_api.submit`: checks the options, then stores the job
    /// with the next group commit. Refusals are reported through `done`,
    /// with a message, like the outcome of a write.
    /// The enqueuing request's id (ABI 1.4), when the options reach that far.
    static func requestID(_ options: kn_job_options) -> String? {
        let end = MemoryLayout<kn_job_options>.offset(of: \kn_job_options.request_id)! + MemoryLayout<UInt>.size
        guard Int(options.struct_size) >= end, let text = options.request_id else { return nil }
        let id = String(cString: text)
        return id.isEmpty || id.utf8.count > 256 ? nil : id
    }

    func submit(caller: OpaquePointer?, name: String, payload: kn_bytes, options: kn_job_options,
                done: @escaping @Sendable (kn_status, Int64, String) -> Void) {
        let queueName = options.queue.map { String(cString: $0) } ?? "default"
        guard let queue = dispatcher.queue(queueName) else {
            return done(KN_ERR_NOT_FOUND, 0, "no queue named '\(queueName)' (configure it in [scheduler] queues)")
        }
        guard (0...9).contains(options.priority) else { return done(KN_ERR_INVALID_ARGUMENT, 0, "priority must be 0 to 9") }
        guard payload.len <= settings.maxPayloadBytes else {
            return done(KN_ERR_TOO_LARGE, 0, "the payload is \(payload.len) bytes; the limit is \(settings.maxPayloadBytes)")
        }
        let key = options.unique_key.map { String(cString: $0) }
        if let key, key.isEmpty || key.utf8.count > 256 {
            return done(KN_ERR_INVALID_ARGUMENT, 0, "a unique key is 1 to 256 bytes")
        }
        let now = WallClock.now()
        // A delay or run-at beyond ten years is a mistake, not a plan; refusing it also keeps the sums finite.
        let tenYears: Int64 = 3650 * 86_400_000
        guard options.delay_ms <= UInt64(tenYears), options.run_at_ms <= now + tenYears else {
            return done(KN_ERR_INVALID_ARGUMENT, 0, "a delay or run-at more than ten years ahead")
        }
        guard options.timeout_ms <= UInt64(tenYears), options.unique_for_ms <= UInt64(tenYears) else {
            return done(KN_ERR_INVALID_ARGUMENT, 0, "a timeout or unique period of more than ten years")
        }
        let runAt = options.run_at_ms > 0 ? options.run_at_ms : now + Int64(options.delay_ms)
        let fire = fires.lookup(key)
        let body = payload.len > 0 ? String(decoding: UnsafeRawBufferPointer(start: payload.ptr, count: payload.len), as: UTF8.self) : "{}"
        let job = NewJob(
            name: name, queue: queueName, priority: Int64(options.priority), payload: body,
            maxAttempts: Int64(max(1, options.max_attempts)), runAt: runAt,
            timeoutMilliseconds: options.timeout_ms > 0 ? Int64(clamping: options.timeout_ms) : queue.timeout_ms,
            uniqueKey: key, uniqueForMilliseconds: Int64(clamping: options.unique_for_ms), schedule: fire?.schedule,
            fireAt: fire?.fireAt,
            enqueuedBy: caller.flatMap { kernel.host.pointee.plugin_name($0) }.map { String(cString: $0) } ?? "kernel",
            requestID: Self.requestID(options))
        let dispatcher = dispatcher
        inserter.add(job) { result in
            switch result {
            case .stored(let id):
                done(KN_OK, id, "")
                // A fire stored ahead is claimed by the schedule engine at its time; the
                // dispatcher staging it at the same instant would only contend for the write.
                if fire != nil && runAt > WallClock.now() { return }
                if runAt > WallClock.now() { dispatcher.noteDue(runAt) } else { dispatcher.wake() }
            case .duplicate(let id):
                done(KN_ERR_CONFLICT, id, "a job '\(name)' with unique key '\(key ?? "")' exists: \(id)")
            case .failed(let error):
                done(error.code.status, 0, error.message)
            }
        }
    }

    func startPruning() {
        let task = Task { [settings, store, kernel] in
            while !Task.isCancelled {
                try? await Task.sleep(for: settings.pruneInterval)
                if Task.isCancelled { return }
                let now = WallClock.now()
                do {
                    let removed = try await store.prune(completedBefore: now - settings.completedRetention,
                                                        discardedBefore: now - settings.discardedRetention)
                    if removed > 0 { kernel.log(.debug, "scheduler: pruned \(removed) finished jobs and fires") }
                } catch {
                    kernel.log(.warning, "scheduler: pruning failed: \(error)")
                }
            }
        }
        pruning.withLock { $0 = task }
    }

    func stopPruning() {
        pruning.withLock { $0 }?.cancel()
        gauges.withLock { $0 }?.cancel()
    }

    /// An instance that has not beaten for this long is taken for gone.
    static let staleAfter: Int64 = 30_000

    /// Every 2 s: the heartbeat, jobs of gone instances taken over, and
    /// queue depths as gauges (`kernelctl info scheduler`: `queue.<name>.<state>`).
    func startGauges() {
        let task = Task { [store, dispatcher, kernel] in
            while !Task.isCancelled {
                do {
                    try await store.heartbeat()
                    let rescued = try await store.rescue(claimedBy: try await store.abandonedOwners(staleAfter: Self.staleAfter))
                    if rescued > 0 {
                        kernel.log(.warning, "scheduler: \(rescued) jobs of a stopped scheduler instance run again")
                        dispatcher.wake()
                    }
                } catch {
                    kernel.log(.debug, "scheduler: heartbeat failed: \(error)")
                }
                if let depths = try? await QueueStore(store: store).depths() {
                    for queue in dispatcher.queues {
                        let depth = depths[queue.name] ?? [:]
                        for state in ["scheduled", "available", "retryable"] {
                            kernel.gauge("queue.\(queue.name).\(state)", depth[state] ?? 0)
                        }
                        kernel.gauge("queue.\(queue.name).running", Int64(dispatcher.runningCount(queue: queue.name)))
                    }
                }
                try? await Task.sleep(for: .seconds(2))
            }
        }
        gauges.withLock { $0 = task }
    }
}
