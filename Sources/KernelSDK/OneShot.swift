import Synchronization

/// One C completion awaited by one task, honouring the task's cancellation:
/// whichever comes first (the completion, or the cancellation) resumes the
/// task; the other finds nothing left to do. Invoke and the storage calls
/// wait through it.
///
/// The C side gets `retained` as its `user_data` and calls `take` exactly once.
final class OneShot<Value: Sendable>: Sendable {
    private enum State {
        case idle
        case waiting(CheckedContinuation<Result<Value, PluginError>, Never>)
        case finished(Result<Value, PluginError>)
        case done
    }

    private let state = Mutex<State>(.idle)

    /// Starts the C operation with `start` and waits for its completion or
    /// for the task's cancellation (then `onCancel` runs, and the wait throws
    /// `cancelled`). `start` may complete inline, or throw to fail at once.
    static func wait(
        onCancel: @escaping @Sendable () -> Void = {},
        _ start: (OneShot<Value>) throws(PluginError) -> Void
    ) async throws(PluginError) -> Value {
        let waiter = OneShot<Value>()
        do {
            try start(waiter)
        } catch {
            // The C side never got `retained`.
            waiter.resume(.failure(error))
        }
        let result = await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in waiter.attach(continuation) }
        } onCancel: {
            // The caller's resources (a call's handle) stay valid until
            // withTaskCancellationHandler returns, which waits for this handler.
            onCancel()
            waiter.resume(.failure(PluginError(.cancelled, "cancelled while waiting")))
        }
        return try result.get()
    }

    /// One retain for the C side, given back by `take`.
    var retained: UnsafeMutableRawPointer { Unmanaged.passRetained(self).toOpaque() }

    static func take(_ pointer: UnsafeMutableRawPointer?) -> OneShot<Value> {
        Unmanaged<OneShot<Value>>.fromOpaque(pointer!).takeRetainedValue()
    }

    private func attach(_ continuation: CheckedContinuation<Result<Value, PluginError>, Never>) {
        let ready: Result<Value, PluginError>? = state.withLock { state in
            if case .finished(let result) = state {
                state = .done
                return result
            }
            state = .waiting(continuation)
            return nil
        }
        if let ready { continuation.resume(returning: ready) }
    }

    /// Delivers the outcome; false when one was delivered before.
    @discardableResult
    func resume(_ result: Result<Value, PluginError>) -> Bool {
        let waiting: CheckedContinuation<Result<Value, PluginError>, Never>?? = state.withLock { state in
            switch state {
            case .idle:
                state = .finished(result)
                return .some(nil)
            case .waiting(let continuation):
                state = .done
                return .some(continuation)
            case .finished, .done:
                return nil
            }
        }
        guard let waiting else { return false }
        waiting?.resume(returning: result)
        return true
    }
}
