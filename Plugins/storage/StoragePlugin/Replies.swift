import CKernelABI
import KernelSDK
import StorageEngine

/// A caller's completion and its user_data, carried to whichever thread
/// finishes the operation. The service calls it exactly once.
struct Reply<Callback>: @unchecked Sendable {
    let callback: Callback?
    let userData: UnsafeMutableRawPointer?
}

extension StorageError.Code {
    var status: kn_status {
        switch self {
        case .invalidArgument: KN_ERR_INVALID_ARGUMENT
        case .notFound: KN_ERR_NOT_FOUND
        case .conflict: KN_ERR_CONFLICT
        case .tooLarge: KN_ERR_TOO_LARGE
        case .timeout: KN_ERR_TIMEOUT
        case .unavailable: KN_ERR_UNAVAILABLE
        case .internal: KN_ERR_INTERNAL
        }
    }
}

/// Runs one operation as a task and hands its outcome to `deliver` (success)
/// or to `fail` (error, with a status and a one-line message).
func perform<T: Sendable>(
    _ operation: @escaping @Sendable (StorageRuntime, String) async throws -> T,
    plugin: OpaquePointer?,
    deliver: @escaping @Sendable (T) -> Void,
    fail: @escaping @Sendable (kn_status, String) -> Void
) {
    guard let runtime = StorageRuntime.current.withLock({ $0 }) else {
        fail(KN_ERR_UNAVAILABLE, "storage is stopped")
        return
    }
    guard let caller = runtime.callerName(plugin) else {
        fail(KN_ERR_INVALID_ARGUMENT, "the caller's kn_plugin handle is required")
        return
    }
    Task {
        let outcome: Result<T, StorageError>
        do {
            outcome = .success(try await operation(runtime, caller))
        } catch {
            outcome = .failure(StorageError.wrap(error))
        }
        switch outcome {
        case .success(let value): deliver(value)
        case .failure(let error): fail(error.code.status, error.message)
        }
    }
}

/// Copies the bytes a result points to into one allocation that lives for
/// the callback, so every kn_bytes of a page or a row set stays valid together.
final class Arena {
    private let base: UnsafeMutableRawPointer
    private var used = 0
    private let capacity: Int

    init(capacity: Int) {
        self.capacity = max(capacity, 1)
        base = .allocate(byteCount: self.capacity, alignment: 16)
    }

    deinit { base.deallocate() }

    func bytes(_ source: [UInt8]) -> kn_bytes {
        guard !source.isEmpty else { return kn_bytes(ptr: nil, len: 0) }
        precondition(used + source.count <= capacity, "arena sized too small")
        let start = base + used
        source.withUnsafeBytes { start.copyMemory(from: $0.baseAddress!, byteCount: source.count) }
        used += source.count
        return kn_bytes(ptr: start.assumingMemoryBound(to: UInt8.self), len: source.count)
    }

    func bytes(_ text: String) -> kn_bytes { bytes(Array(text.utf8)) }
}

extension kn_bytes {
    /// A copy of the slice (the caller's buffer is borrowed only for the call).
    var array: [UInt8] {
        guard let ptr, len > 0 else { return [] }
        return Array(UnsafeBufferPointer(start: ptr, count: len))
    }
}

/// An optional C string argument, copied.
func string(_ pointer: UnsafePointer<CChar>?) -> String? { pointer.map { String(cString: $0) } }
