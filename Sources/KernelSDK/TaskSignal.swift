import Synchronization

/// Wakes one waiting task; a wake with nobody waiting is kept for the next
/// wait, so none is lost between a check and the wait.
///
/// ```swift
/// let signal = TaskSignal()
/// Task { while !Task.isCancelled { await signal.wait(timeout: .seconds(1)); poll() } }
/// signal.fire()   // from any thread: new work
/// ```
///
/// One task waits at a time; `fire` from any thread.
public final class TaskSignal: Sendable {
    private struct State {
        var pending = false
        var waiter: CheckedContinuation<Void, Never>?
    }
    private let state = Mutex(State())

    public init() {}

    public func fire() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            if let waiter = state.waiter {
                state.waiter = nil
                return waiter
            }
            state.pending = true
            return nil
        }
        waiter?.resume()
    }

    /// Returns at the next `fire` (or a pending one), or after `timeout`.
    public func wait(timeout: Duration) async {
        // A wake already there: no timer to start (the busy case).
        let pending = state.withLock { state -> Bool in
            defer { state.pending = false }
            return state.pending
        }
        if pending { return }
        let timer = Task { [weak self] in
            try? await Task.sleep(for: timeout)
            if !Task.isCancelled { self?.fire() }
        }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let ready = state.withLock { state -> Bool in
                if state.pending {
                    state.pending = false
                    return true
                }
                state.waiter = continuation
                return false
            }
            if ready { continuation.resume() }
        }
        timer.cancel()
    }
}
