import CKernelABI
import Dispatch
import Logging
import Synchronization

/// Runs jobs in the background: now with a completion (`job_run`), or queued
/// with a delay and retried with exponential backoff (`job_enqueue`,
/// `job_submit`).
///
/// Queued jobs go to the `scheduler` service when a plugin provides it (the
/// core scheduler stores them durably); otherwise they live in memory here,
/// where delay, run-at and max attempts are honoured and unique keys refused.
final class JobRunner: Sendable {
    private unowned let kernel: Kernel
    private let queue = DispatchQueue(label: "kernel.jobs", attributes: .concurrent)
    private let nextID = Atomic<UInt64>(1)
    private let counters = Mutex<(succeeded: Int, failed: Int)>((0, 0))
    /// The plugin that stores jobs is being unloaded (its stop runs).
    private let storeStopping = Atomic<Bool>(false)

    func setStoreStopping(_ stopping: Bool) { storeStopping.store(stopping, ordering: .releasing) }

    private var refusalWhileStoreStops: KernelError? {
        storeStopping.load(ordering: .acquiring)
            ? KernelError(KN_ERR_UNAVAILABLE, "the scheduler is stopping; enqueue again once it is back or gone") : nil
    }

    init(kernel: Kernel) { self.kernel = kernel }

    var stats: (succeeded: Int, failed: Int) { counters.withLock { $0 } }

    func run(_ name: String, payload: [UInt8], callbacks: kn_call_callbacks) -> kn_status {
        guard let job = kernel.registry.job(named: name) else { return KN_ERR_NOT_FOUND }
        let id = nextID.add(1, ordering: .relaxed).oldValue
        let callbacks = UncheckedSendable(callbacks) // plain C function pointers and a user_data the caller owns
        queue.async { self.start(job.name, id: id, attempt: 1, payload: payload, requestID: nil, callbacks: callbacks.value) }
        return KN_OK
    }

    /// `job_enqueue`: stored by the scheduler (waiting for it, bounded) or queued here.
    func enqueue(from plugin: OpaquePointer, _ name: String, payload: kn_bytes,
                 delayMilliseconds: UInt64) -> Result<UInt64, KernelError> {
        guard let job = kernel.registry.job(named: name) else {
            return .failure(KernelError(KN_ERR_NOT_FOUND, "no job named '\(name)'"))
        }
        guard let scheduler = durableStore() else {
            if let refusal = refusalWhileStoreStops { return .failure(refusal) }
            return .success(enqueueInMemory(name, payload: payload.array, after: delayMilliseconds, maxAttempts: 0))
        }
        var options = kn_job_options()
        options.struct_size = UInt32(MemoryLayout<kn_job_options>.size)
        options.delay_ms = delayMilliseconds
        options.max_attempts = job.maxAttempts
        let waiter = SubmitWaiter()
        let context = Unmanaged.passRetained(waiter).toOpaque()
        let status = name.withCString { scheduler.pointee.submit(plugin, $0, payload, &options, SubmitWaiter.done, context) }
        guard status == KN_OK else {
            Unmanaged<SubmitWaiter>.fromOpaque(context).release()
            return .failure(KernelError(status, "the scheduler refused job '\(name)'"))
        }
        return waiter.wait(seconds: 10, job: name)
    }

    /// `job_submit`: forwarded to the scheduler, or queued here and reported at once.
    func submit(from plugin: OpaquePointer, _ name: String, payload: kn_bytes, options: UnsafePointer<kn_job_options>?,
                done: kn_job_done_fn, userData: UnsafeMutableRawPointer?) -> kn_status {
        guard let job = kernel.registry.job(named: name) else { return KN_ERR_NOT_FOUND }
        if let options, options.pointee.struct_size < UInt32(MemoryLayout<UInt32>.size * 2) { return KN_ERR_INVALID_ARGUMENT }
        var options = readDefinition(options) ?? kn_job_options()
        options.struct_size = UInt32(MemoryLayout<kn_job_options>.size)
        if options.max_attempts == 0 { options.max_attempts = job.maxAttempts }
        if let scheduler = durableStore() {
            return name.withCString { scheduler.pointee.submit(plugin, $0, payload, &options, done, userData) }
        }
        if let refusal = refusalWhileStoreStops {
            done(userData, refusal.status, 0, refusal.message)
            return KN_OK
        }
        if options.unique_key != nil {
            done(userData, KN_ERR_UNAVAILABLE, 0, "unique jobs need the scheduler plugin, which is not loaded")
            return KN_OK
        }
        var delay = options.delay_ms
        if options.run_at_ms > 0 { delay = UInt64(max(0, options.run_at_ms - currentMilliseconds())) }
        let id = enqueueInMemory(name, payload: payload.array, after: delay, maxAttempts: options.max_attempts,
                                 requestID: optionalString(options.request_id))
        done(userData, KN_OK, id, "")
        return KN_OK
    }

    /// The scheduler service's table, when a plugin provides one that has `submit`.
    private func durableStore() -> UnsafePointer<kn_scheduler_api>? {
        guard let entry = kernel.registry.service(named: KN_SCHEDULER_SERVICE, major: UInt32(KN_SCHEDULER_MAJOR), minMinor: 0)
        else { return nil }
        let table = entry.table.assumingMemoryBound(to: kn_scheduler_api.self)
        let needed = MemoryLayout<kn_scheduler_api>.offset(of: \kn_scheduler_api.submit)! + MemoryLayout<UInt>.size
        guard Int(table.pointee.struct_size) >= needed, table.pointee.submit != nil else { return nil }
        return table
    }

    private func enqueueInMemory(_ name: String, payload: [UInt8], after delay: UInt64, maxAttempts: UInt32,
                                 requestID: String? = nil) -> UInt64 {
        let id = nextID.add(1, ordering: .relaxed).oldValue
        schedule(name, id: id, attempt: 1, payload: payload, after: delay, maxAttempts: maxAttempts, requestID: requestID)
        return id
    }

    private func schedule(_ name: String, id: UInt64, attempt: UInt32, payload: [UInt8], after delay: UInt64,
                          maxAttempts: UInt32, requestID: String?) {
        queue.asyncAfter(deadline: .now() + .milliseconds(Int(min(delay, UInt64(Int32.max))))) {
            // Looked up at run time: a reloaded plugin's new handler runs the job.
            guard let job = self.kernel.registry.job(named: name) else {
                self.kernel.logger.warning("job \(name)#\(id) dropped: no job of that name is registered")
                return
            }
            let callbacks = CompletionBox.callbacks { outcome in
                let meta = { (key: String) in outcome.responseMeta.first { $0.0 == key }.map { String(decoding: $0.1, as: UTF8.self) } }
                if outcome.isSuccess, let snooze = meta("job.snooze").flatMap(UInt64.init) {
                    // Again later; the attempt is not spent.
                    self.schedule(name, id: id, attempt: attempt, payload: payload, after: min(snooze, 366 * 86_400_000),
                                  maxAttempts: maxAttempts, requestID: requestID)
                } else if outcome.isSuccess {
                    self.counters.withLock { $0.succeeded += 1 }
                } else if meta("job.discard") == nil, attempt < (maxAttempts == 0 ? job.maxAttempts : maxAttempts) {
                    let backoff = UInt64(100) << UInt64(min(attempt, 10))
                    self.kernel.logger.warning(
                        "job \(name)#\(id) attempt \(attempt) failed (\(Status.name(outcome.status)): \(outcome.message)); retrying in \(backoff) ms")
                    self.schedule(name, id: id, attempt: attempt + 1, payload: payload, after: backoff, maxAttempts: maxAttempts,
                                  requestID: requestID)
                } else {
                    self.counters.withLock { $0.failed += 1 }
                    self.kernel.logger.error(
                        "job \(name)#\(id) failed after \(attempt) attempts: \(Status.name(outcome.status)): \(outcome.message)")
                }
            }
            self.start(name, id: id, attempt: attempt, payload: payload, requestID: requestID, callbacks: callbacks)
        }
    }

    /// Runs the job registered under `name` now (a reloaded plugin's new handler).
    private func start(_ name: String, id: UInt64, attempt: UInt32, payload: [UInt8], requestID: String?,
                       callbacks: kn_call_callbacks) {
        let call = Call(kernel: kernel, protocolName: "job")
        call.setJob(name)
        call.setBody(payload, contentType: "application/json")
        call.setMeta("job.id", OwnedBuffer(String(id)))
        call.setMeta("job.attempt", OwnedBuffer(String(attempt)))
        if let requestID { call.setMeta("request.id", OwnedBuffer(requestID)) }
        call.dispatch(callbacks)
    }
}

/// Waits, bounded, for the scheduler's answer to a `job_enqueue` (a
/// blocking host function by its 1.0 contract).
private final class SubmitWaiter: @unchecked Sendable {
    private let semaphore = DispatchSemaphore(value: 0)
    private var result: Result<UInt64, KernelError> = .failure(KernelError(KN_ERR_INTERNAL, "no answer"))

    static let done: kn_job_done_fn = { context, status, id, message in
        let waiter = Unmanaged<SubmitWaiter>.fromOpaque(context!).takeRetainedValue()
        waiter.result = status == KN_OK
            ? .success(id) : .failure(KernelError(status, message.map { String(cString: $0) } ?? Status.name(status)))
        waiter.semaphore.signal()
    }

    func wait(seconds: Int, job: String) -> Result<UInt64, KernelError> {
        guard semaphore.wait(timeout: .now() + .seconds(seconds)) == .success else {
            return .failure(KernelError(KN_ERR_UNAVAILABLE, "the scheduler did not store job '\(job)' within \(seconds) s"))
        }
        return result // written before the signal
    }
}
