import CKernelABI
import Dispatch
import Logging
import Synchronization

/// Runs jobs in the background: now with a completion (`job_run`), or queued
/// with a delay and retried with exponential backoff (`job_enqueue`).
///
/// Jobs live in memory here; a scheduler plugin can persist them through the
/// storage service.
final class JobRunner: Sendable {
    private unowned let kernel: Kernel
    private let queue = DispatchQueue(label: "kernel.jobs", attributes: .concurrent)
    private let nextID = Atomic<UInt64>(1)
    private let counters = Mutex<(succeeded: Int, failed: Int)>((0, 0))

    init(kernel: Kernel) { self.kernel = kernel }

    var stats: (succeeded: Int, failed: Int) { counters.withLock { $0 } }

    func run(_ name: String, payload: [UInt8], callbacks: kn_call_callbacks) -> kn_status {
        guard let job = kernel.registry.job(named: name) else { return KN_ERR_NOT_FOUND }
        let id = nextID.add(1, ordering: .relaxed).oldValue
        let callbacks = UncheckedSendable(callbacks) // plain C function pointers and a user_data the caller owns
        queue.async { self.start(job.name, id: id, attempt: 1, payload: payload, callbacks: callbacks.value) }
        return KN_OK
    }

    func enqueue(_ name: String, payload: [UInt8], delayMilliseconds: UInt64) -> Result<UInt64, KernelError> {
        guard kernel.registry.job(named: name) != nil else {
            return .failure(KernelError(KN_ERR_NOT_FOUND, "no job named '\(name)'"))
        }
        let id = nextID.add(1, ordering: .relaxed).oldValue
        schedule(name, id: id, attempt: 1, payload: payload, after: delayMilliseconds)
        return .success(id)
    }

    private func schedule(_ name: String, id: UInt64, attempt: UInt32, payload: [UInt8], after delay: UInt64) {
        queue.asyncAfter(deadline: .now() + .milliseconds(Int(min(delay, UInt64(Int32.max))))) {
            // Looked up at run time: a reloaded plugin's new handler runs the job.
            guard let job = self.kernel.registry.job(named: name) else {
                self.kernel.logger.warning("job \(name)#\(id) dropped: no job of that name is registered")
                return
            }
            let callbacks = CompletionBox.callbacks { outcome in
                if outcome.isSuccess {
                    self.counters.withLock { $0.succeeded += 1 }
                } else if attempt < job.maxAttempts {
                    let backoff = UInt64(100) << UInt64(min(attempt, 10))
                    self.kernel.logger.warning(
                        "job \(name)#\(id) attempt \(attempt) failed (\(Status.name(outcome.status)): \(outcome.message)); retrying in \(backoff) ms")
                    self.schedule(name, id: id, attempt: attempt + 1, payload: payload, after: backoff)
                } else {
                    self.counters.withLock { $0.failed += 1 }
                    self.kernel.logger.error(
                        "job \(name)#\(id) failed after \(attempt) attempts: \(Status.name(outcome.status)): \(outcome.message)")
                }
            }
            self.start(name, id: id, attempt: attempt, payload: payload, callbacks: callbacks)
        }
    }

    /// Runs the job registered under `name` now (a reloaded plugin's new handler).
    private func start(_ name: String, id: UInt64, attempt: UInt32, payload: [UInt8], callbacks: kn_call_callbacks) {
        let call = Call(kernel: kernel, protocolName: "job")
        call.setJob(name)
        call.setBody(payload, contentType: "application/json")
        call.setMeta("job.id", OwnedBuffer(String(id)))
        call.setMeta("job.attempt", OwnedBuffer(String(attempt)))
        call.dispatch(callbacks)
    }
}
