/// Bounds for tests that wait on the network: a test that hangs fails
/// with `DeadlineExceeded` instead of stalling the run.
struct DeadlineExceeded: Error {}

/// Runs `body`, cancelling it and throwing `DeadlineExceeded` after `seconds`.
/// `body` must end when cancelled (async streams and sleeps do).
func withDeadline<T: Sendable>(_ seconds: Double = 10, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: .seconds(seconds))
            return nil
        }
        defer { group.cancelAll() }
        guard let value = try await group.next() ?? nil else { throw DeadlineExceeded() }
        return value
    }
}

/// The value of `task`, which is cancelled if it takes longer than `seconds`.
func value<T: Sendable>(of task: Task<T, any Error>, within seconds: Double = 10) async throws -> T {
    try await withDeadline(seconds) {
        try await withTaskCancellationHandler { try await task.value } onCancel: { task.cancel() }
    }
}
