import CKernelABI
import Dispatch
import KernelSDK
import Synchronization

/// How one attempt of a job ended.
enum AttemptOutcome: Sendable {
    case succeeded
    case failed(String)
    case snoozed(milliseconds: Int64)
    case discarded(String)
    case timedOut(milliseconds: Int64)
    /// Cancelled on purpose: by an operator, or replaced by a newer fire.
    case cancelled(String)
    /// Stopped by the scheduler's own stop; the attempt is not spent.
    case interrupted
    /// No handler is registered under the job's name right now.
    case noHandler
}

/// One attempt of a claimed job, run as a kernel call that targets the job
/// (`call_set_job`, ABI 1.2): metadata `job.*`, a timeout that cancels it,
/// and its outcome read from the response (`job.snooze`, `job.discard`).
final class JobCall: Sendable {
    enum Stop: UInt8 { case none = 0, timeout, `operator`, shutdown }

    let job: ClaimedJob
    let startedAt = ContinuousClock.now
    private let host: HostPointer
    private let call: CallPointer
    private let stopReason = Atomic<UInt8>(Stop.none.rawValue)
    private let reasonText = Mutex<String>("")
    private let finish: @Sendable (JobCall, AttemptOutcome) -> Void

    private init(job: ClaimedJob, host: HostPointer, call: CallPointer,
                 finish: @escaping @Sendable (JobCall, AttemptOutcome) -> Void) {
        self.job = job
        self.host = host
        self.call = call
        self.finish = finish
    }

    /// Starts the attempt; `finish` runs exactly once, on any thread (maybe
    /// before this returns). Nil when no handler is registered for the job.
    static func start(_ job: ClaimedJob, kernel: PluginContext, started: () -> Void,
                      finish: @escaping @Sendable (JobCall, AttemptOutcome) -> Void) -> JobCall? {
        let host = kernel.host
        guard let call = host.pointee.call_new(kernel.handle, "job") else { return nil }
        guard host.pointee.call_set_job(call, job.name) == KN_OK else {
            host.pointee.call_release(call)
            return nil
        }
        job.payload.withUnsafeBufferPointer {
            _ = host.pointee.call_set_body(call, kn_bytes(ptr: $0.baseAddress, len: $0.count), "application/json")
        }
        var meta = ["job.id": String(job.id), "job.attempt": String(job.attempt), "job.queue": job.queue,
                    "job.max_attempts": String(job.maxAttempts)]
        if let schedule = job.schedule { meta["job.schedule"] = schedule }
        if let fireAt = job.fireAt { meta["job.fire_at"] = WallClock.text(fireAt) }
        if let requestID = job.requestID { meta["request.id"] = requestID }
        for (key, value) in meta {
            var bytes = Array(value.utf8)
            bytes.withUnsafeMutableBufferPointer {
                _ = host.pointee.call_meta_set(call, key, kn_bytes(ptr: $0.baseAddress, len: $0.count))
            }
        }
        let attempt = JobCall(job: job, host: HostPointer(host), call: CallPointer(call), finish: finish)
        var callbacks = kn_call_callbacks()
        callbacks.struct_size = UInt32(MemoryLayout<kn_call_callbacks>.size)
        callbacks.user_data = Unmanaged.passRetained(attempt).toOpaque()
        callbacks.on_complete = { userData, response in
            let attempt = Unmanaged<JobCall>.fromOpaque(userData!).takeRetainedValue()
            attempt.completed(response!)
        }
        if job.timeoutMilliseconds > 0 {
            DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(Int(job.timeoutMilliseconds))) {
                [weak attempt] in attempt?.stop(.timeout, "")
            }
        }
        started()
        host.pointee.call_dispatch(call, &callbacks)
        return attempt
    }

    /// Cancels the attempt (its handler hears on_cancel); the reason decides the outcome.
    func stop(_ reason: Stop, _ text: String) {
        reasonText.withLock { $0 = text }
        guard stopReason.compareExchange(expected: Stop.none.rawValue, desired: reason.rawValue, ordering: .acquiringAndReleasing).exchanged
        else { return }
        host.pointer.pointee.call_cancel(call.pointer)
    }

    private func completed(_ response: UnsafePointer<kn_response>) {
        finish(self, outcome(of: response))
    }

    /// The starter's hold on the call lasts as long as this object, so a
    /// late `stop` (a timeout, an operator) never cancels a freed call: the
    /// kernel ignores a cancel after completion.
    deinit { host.pointer.pointee.call_release(call.pointer) }

    private func outcome(of pointer: UnsafePointer<kn_response>) -> AttemptOutcome {
        let response = pointer.pointee
        // A handler that succeeded as the stop came has succeeded.
        if response.status != KN_OK {
            switch Stop(rawValue: stopReason.load(ordering: .acquiring)) ?? .none {
            case .timeout: return .timedOut(milliseconds: job.timeoutMilliseconds)
            case .operator: return .cancelled(reasonText.withLock { $0 })
            case .shutdown: return .interrupted
            case .none: break
            }
        }
        var snooze: Int64?
        var discard = false
        var index = 0
        var key = kn_bytes()
        var value = kn_bytes()
        while host.pointer.pointee.response_meta_at(pointer, index, &key, &value) {
            let name = String(decoding: UnsafeRawBufferPointer(start: key.ptr, count: key.len), as: UTF8.self)
            if name == "job.snooze" {
                snooze = Int64(String(decoding: UnsafeRawBufferPointer(start: value.ptr, count: value.len), as: UTF8.self))
            } else if name == "job.discard" {
                discard = true
            }
            index += 1
        }
        if response.status == KN_OK {
            if let snooze { return .snoozed(milliseconds: min(max(0, snooze), 366 * 86_400_000)) }
            return .succeeded
        }
        let message = String(decoding: UnsafeRawBufferPointer(start: response.error_message.ptr, count: response.error_message.len),
                             as: UTF8.self)
        let text = "\(String(cString: kn_status_name(response.status))): \(message)"
        return discard ? .discarded(text) : .failed(text)
    }
}

/// The host table and a call handle, carried across threads.
struct HostPointer: @unchecked Sendable {
    let pointer: UnsafePointer<kn_host_api>
    init(_ pointer: UnsafePointer<kn_host_api>) { self.pointer = pointer }
}

struct CallPointer: @unchecked Sendable {
    let pointer: OpaquePointer
    init(_ pointer: OpaquePointer) { self.pointer = pointer }
}
