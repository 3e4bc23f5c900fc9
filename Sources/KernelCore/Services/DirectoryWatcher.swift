import Dispatch
import Foundation
import Glibc
import Synchronization

/// Watches the plugins directory with inotify and reports plugin files that
/// changed, once they have been quiet for `quietMilliseconds`.
///
/// Only completed writes count: a file closed after writing (IN_CLOSE_WRITE)
/// or renamed into the directory (IN_MOVED_TO); a file being written is
/// never reported. Removal (IN_DELETE, IN_MOVED_FROM) is reported the same way.
final class DirectoryWatcher: Sendable {
    private let directory: String
    private let quietMilliseconds: Int
    private let queue: DispatchQueue
    private let onChange: @Sendable (String) -> Void
    private let running = Atomic<Bool>(false)
    private let pending = Mutex<[String: UInt64]>([:])
    private let tokens = Atomic<UInt64>(0)

    init(directory: String, quietMilliseconds: Int = 250, queue: DispatchQueue, onChange: @escaping @Sendable (String) -> Void) {
        self.directory = directory
        self.quietMilliseconds = quietMilliseconds
        self.queue = queue
        self.onChange = onChange
    }

    func start() throws(KernelError) {
        let fd = inotify_init1(Int32(IN_CLOEXEC))
        guard fd >= 0 else { throw KernelError(1, "inotify_init1: \(errnoText())") }
        let mask = UInt32(IN_CLOSE_WRITE) | UInt32(IN_MOVED_TO) | UInt32(IN_DELETE) | UInt32(IN_MOVED_FROM)
        guard inotify_add_watch(fd, directory, mask) >= 0 else {
            close(fd)
            throw KernelError(1, "cannot watch \(directory): \(errnoText())")
        }
        running.store(true, ordering: .releasing)
        let thread = Thread { [self] in
            self.readLoop(fd)
            close(fd)
        }
        thread.name = "kernel.watcher"
        thread.start()
    }

    func stop() { running.store(false, ordering: .releasing) }

    private func readLoop(_ fd: Int32) {
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while running.load(ordering: .acquiring) {
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, 200) > 0 else { continue }
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            guard count > 0 else { continue }
            var offset = 0
            // struct inotify_event: wd, mask, cookie, len (4 bytes each), then len bytes of name.
            while offset + 16 <= count {
                let length = buffer.withUnsafeBytes { Int($0.load(fromByteOffset: offset + 12, as: UInt32.self)) }
                let nameBytes = buffer[(offset + 16)..<min(offset + 16 + length, count)].prefix { $0 != 0 }
                let name = String(decoding: nameBytes, as: UTF8.self)
                if PluginFiles.isPluginFileName(name) { schedule("\(directory)/\(name)") }
                offset += 16 + length
            }
        }
    }

    /// Reports `path` after it has been quiet for the quiet period.
    private func schedule(_ path: String) {
        let token = tokens.add(1, ordering: .relaxed).newValue
        pending.withLock { $0[path] = token }
        queue.asyncAfter(deadline: .now() + .milliseconds(quietMilliseconds)) { [self] in
            let current = pending.withLock { pending -> Bool in
                guard pending[path] == token else { return false }
                pending[path] = nil
                return true
            }
            if current && running.load(ordering: .acquiring) { onChange(path) }
        }
    }
}
