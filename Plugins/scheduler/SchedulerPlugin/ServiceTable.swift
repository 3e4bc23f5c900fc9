import CKernelABI
import KernelSDK

/// The `kn_scheduler_api` table registered as service "scheduler" 1.0.
/// Only the kernel calls it (for `job_enqueue` and `job_submit`); it looks
/// the service up at each enqueue, so a stopped image is never called.
enum ServiceTable {
    nonisolated(unsafe) static let shared: UnsafeMutablePointer<kn_scheduler_api> = {
        var table = kn_scheduler_api()
        table.struct_size = UInt32(MemoryLayout<kn_scheduler_api>.size)
        table.submit = { caller, name, payload, options, done, userData in
            guard let name, let done else { return KN_ERR_INVALID_ARGUMENT }
            guard let runtime = SchedulerRuntime.current.withLock({ $0 }) else { return KN_ERR_UNAVAILABLE }
            let copied = readOptions(options)
            let context = UserData(userData)
            runtime.submit(caller: caller, name: String(cString: name), payload: payload, options: copied) { status, id, message in
                message.withCString { done(context.pointer, status, UInt64(max(0, id)), $0) }
            }
            return KN_OK
        }
        let pointer = UnsafeMutablePointer<kn_scheduler_api>.allocate(capacity: 1)
        pointer.initialize(to: table)
        return pointer
    }()

    /// The options as far as the caller's struct_size reaches; the rest zero.
    static func readOptions(_ pointer: UnsafePointer<kn_job_options>?) -> kn_job_options {
        var options = kn_job_options()
        guard let pointer else { return options }
        let size = min(Int(pointer.pointee.struct_size), MemoryLayout<kn_job_options>.size)
        withUnsafeMutableBytes(of: &options) { target in
            target.copyMemory(from: UnsafeRawBufferPointer(start: pointer, count: size))
        }
        return options
    }
}

/// A caller's `user_data`, handed back in `done` on another thread.
struct UserData: @unchecked Sendable {
    let pointer: UnsafeMutableRawPointer?
    init(_ pointer: UnsafeMutableRawPointer?) { self.pointer = pointer }
}
