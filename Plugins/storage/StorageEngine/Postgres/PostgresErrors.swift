import Foundation
import PostgresNIO

/// PostgreSQL failures as typed storage errors, by SQLSTATE class.
enum PostgresErrors {
    static func map(_ error: any Error) -> StorageError {
        if let error = error as? StorageError { return error }
        if error is PostgresDecodingError { return .internal("PostgreSQL value of an unexpected type: \(String(reflecting: error))") }
        if error is CancellationError { return .unavailable("PostgreSQL call cancelled") }
        guard let error = error as? PSQLError else { return .internal("PostgreSQL: \(String(reflecting: error))") }
        if error.code == .server {
            let state = error.serverInfo?[.sqlState] ?? ""
            let message = error.serverInfo?[.message] ?? "server error"
            let detail = error.serverInfo?[.detail].map { " (\($0))" } ?? ""
            let text = "\(message)\(detail) [\(state)]"
            switch state {
            case "23505": return .conflict(text)
            case "40001", "40P01": return .conflict(text)
            case "57014", "55P03": return StorageError(.timeout, text)
            case "54000", "54001": return .tooLarge(text)
            default: break
            }
            switch state.prefix(2) {
            case "22", "23", "25", "2B", "34", "3F", "42", "0A", "21", "44": return .invalidArgument(text)
            case "08", "53", "57", "58": return .unavailable(text)
            default: return .internal(text)
            }
        }
        switch error.code {
        case .connectionError, .serverClosedConnection, .clientClosedConnection, .uncleanShutdown, .poolClosed,
             .sslUnsupported, .failedToAddSSLHandler:
            return .unavailable("PostgreSQL unreachable: \(error.code)")
        case .tooManyParameters: return .invalidArgument("too many parameters")
        case .queryCancelled: return StorageError(.timeout, "query cancelled")
        default: return .internal("PostgreSQL: \(error.code)")
        }
    }
}

/// Runs `body`, failing with `unavailable` past `timeout`: the connection
/// pool waits for a server that is down instead of failing, and a reader
/// must learn it in bounded time. Unstructured on purpose: a query that
/// ignores cancellation must not hold the caller.
func withDeadline<T: Sendable>(_ timeout: Duration, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    let gate = ResumeOnce<T>()
    return try await withCheckedThrowingContinuation { continuation in
        gate.set(continuation)
        let work = Task {
            do { gate.resume(.success(try await body())) } catch { gate.resume(.failure(PostgresErrors.map(error))) }
        }
        let timer = Task {
            try await Task.sleep(for: timeout)
            if gate.resume(.failure(StorageError.unavailable("PostgreSQL did not answer within \(timeout) (down or overloaded)"))) {
                work.cancel()
            }
        }
        gate.onResume { timer.cancel() }
    }
}

/// A continuation resumed by whichever side comes first.
final class ResumeOnce<T: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var continuation: CheckedContinuation<T, any Error>?
    private var pending: Result<T, any Error>?
    private var done = false
    private var afterResume: (@Sendable () -> Void)?

    func set(_ continuation: CheckedContinuation<T, any Error>) {
        lock.lock()
        if let pending {
            lock.unlock()
            continuation.resume(with: pending)
            return
        }
        self.continuation = continuation
        lock.unlock()
    }

    func onResume(_ action: @escaping @Sendable () -> Void) {
        lock.lock()
        if done {
            lock.unlock()
            action()
            return
        }
        afterResume = action
        lock.unlock()
    }

    @discardableResult
    func resume(_ result: Result<T, any Error>) -> Bool {
        lock.lock()
        guard !done else {
            lock.unlock()
            return false
        }
        done = true
        let continuation = self.continuation
        self.continuation = nil
        if continuation == nil { pending = result }
        let action = afterResume
        afterResume = nil
        lock.unlock()
        continuation?.resume(with: result)
        action?()
        return true
    }
}
