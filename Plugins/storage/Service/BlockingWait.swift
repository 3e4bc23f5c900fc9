import Foundation

/// Runs async work to completion from a synchronous hook (init and stop run
/// on the kernel's control thread, which may block). The work runs on the
/// Swift concurrency pool, never on the waiting thread.
enum BlockingWait {
    static func run<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) throws -> T {
        let box = Outcome<T>()
        let done = DispatchSemaphore(value: 0)
        Task {
            do { box.result = .success(try await body()) } catch { box.result = .failure(error) }
            done.signal()
        }
        done.wait()
        return try box.result!.get()
    }

    static func run(_ body: @escaping @Sendable () async -> Void) {
        _ = try? run { () async throws -> Bool in
            await body()
            return true
        }
    }

    /// Written before the semaphore is signalled, read after it is waited on.
    private final class Outcome<T>: @unchecked Sendable {
        var result: Result<T, any Error>?
    }
}
