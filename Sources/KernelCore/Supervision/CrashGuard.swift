import CSupervision
import Glibc

/// Attribution of fatal signals to plugins.
///
/// Each image's executable segments are recorded when it is mapped; the
/// handler (C, async-signal-safe) looks the faulting instruction up there,
/// then the frames of the stack, and appends the verdict to the crash
/// ledger before the process dies. Installed by the `kernel` executable,
/// never by a kernel embedded in another program.
public enum CrashGuard {
    /// Installs the handler, appending to the ledger at `path`. `chaining`:
    /// hand the signal on to the handler installed before (the Swift
    /// runtime's backtracer) instead of dying at once; used without a
    /// supervisor, where a slow, detailed report costs no restart time.
    public static func install(ledger path: String, chaining: Bool) throws(KernelError) {
        let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw KernelError(KN_ERR_INTERNAL, "cannot open the crash ledger \(path): \(errnoText())") }
        guard kn_guard_install(fd, chaining ? 1 : 0) == 0 else {
            throw KernelError(KN_ERR_INTERNAL, "cannot install the fatal-signal handler: \(errnoText())")
        }
    }

    /// Names the file being opened, or nil once it is.
    static func loading(_ name: String?) {
        if let name { kn_guard_loading(name) } else { kn_guard_loading(nil) }
    }

    /// Records a mapped image's code under `name`.
    static func record(handle: UnsafeMutableRawPointer, name: String) {
        _ = kn_guard_add_image(handle, name)
    }
}
