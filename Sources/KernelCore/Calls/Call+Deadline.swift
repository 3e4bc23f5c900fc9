import CKernelABI
import Glibc
import Synchronization

/// `Call.lateHold`: none → closed (completed by its holder), or
/// none → requested (the kernel completes it) → deferred → released (the holder's attempt).
enum LateHold {
    static let none = 0, requested = 1, deferred = 2, released = 3, closed = 4
}

/// Admission, deadlines and what an unload leaves behind (`CallLimits`, `CallWatch`).
extension Call {
    /// Counts the call in against its endpoint's limits and starts its
    /// deadline; refuses it at once (503, `Retry-After: 1`) past a limit.
    func admit(_ target: ResolvedEndpoint) -> Bool {
        guard let limits = kernel.registry.limits else { return true }
        if let refusal = limits.admit(target.policy) {
            var retry = "1", details = #"{"retry_after":"1"}"#
            retry.withUTF8 { setResponseMeta("header.retry-after", kn_bytes(ptr: $0.baseAddress, len: $0.count)) }
            details.withUTF8 { fail(KN_ERR_UNAVAILABLE, refusal, details: kn_bytes(ptr: $0.baseAddress, len: $0.count)) }
            return false
        }
        admittedPolicy = target.policy
        var timeout = target.policy.timeoutMilliseconds
        // The client may ask for less time, never for more.
        if let asked = existingMeta("header.x-timeout-ms").flatMap({ Int64($0.string) }).map({ min($0, 86_400_000) }), asked > 0 {
            timeout = timeout == 0 ? asked : min(timeout, asked)
        }
        kernel.watch.track(self, endpoint: target.endpoint, timeout: timeout)
        return true
    }

    /// The deadline passed: the caller hears `timeout`, then the handler
    /// (if it has the call) hears on_cancel. Its handle stays valid until it
    /// tries to complete the call, which then returns KN_ERR_ALREADY_COMPLETED.
    func expire(timeout: Int64) {
        expire(KN_ERR_TIMEOUT, "deadline of \(timeout) ms passed")
    }

    /// Completes the call for the kernel (a deadline, an unload that gave up
    /// waiting) and tells its handler through on_cancel. Once per call: a
    /// deadline and an unload that meet do it once between them.
    func expire(_ status: kn_status, _ message: String) {
        guard dispatched, !completed.load(ordering: .acquiring), let running,
              lateHold.compareExchange(expected: LateHold.none, desired: LateHold.requested,
                                       ordering: .sequentiallyConsistent).exchanged else { return }
        running.begin() // user_data stays valid through on_cancel, even if the plugin is unloading
        defer { running.end() }
        cancelled.store(true, ordering: .sequentiallyConsistent)
        _ = Unmanaged.passUnretained(self).retain() // the holder's, until its completion attempt
        let reached = handlerCalled.load(ordering: .sequentiallyConsistent)
        fail(status, message) // completed by its holder meanwhile: the hold is released there
        if reached, lateHold.load(ordering: .sequentiallyConsistent) == LateHold.deferred,
           let onCancel = running.endpoint.onCancel {
            onCancel(running.endpoint.userData, handle)
        }
    }

    /// The holder's completion attempt after the kernel completed the call:
    /// the in-flight counts, the limits' slots and the handle go now.
    func releaseLateHold() {
        guard lateHold.load(ordering: .sequentiallyConsistent) != LateHold.none else { return }
        // The completer moves `requested` on to `deferred` right after it won: wait for that step.
        while lateHold.load(ordering: .sequentiallyConsistent) == LateHold.requested { sched_yield() }
        guard lateHold.compareExchange(expected: LateHold.deferred, desired: LateHold.released,
                                       ordering: .sequentiallyConsistent).exchanged else { return }
        if let policy = admittedPolicy {
            kernel.registry.limits?.release(policy)
            kernel.watch.untrack(self)
        }
        running?.end()
        Unmanaged.passUnretained(self).release()
    }

    /// Whether `plugin` serves or wraps this call.
    func isHeld(by plugin: PluginInstance) -> Bool {
        guard let running else { return false }
        let target = Unmanaged.passUnretained(plugin).toOpaque()
        return running.holders.contains { $0.toOpaque() == target }
    }
}
