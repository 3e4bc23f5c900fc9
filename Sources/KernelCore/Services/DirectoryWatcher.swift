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
///
/// What events cannot say is reported as a rescan: the kernel's event queue
/// overflowed (IN_Q_OVERFLOW: some events are lost), or the directory itself
/// went or was replaced (removed, renamed, or a symlink swapped in its
/// parent, as a deploy does). The watch follows the path again, then the
/// kernel reconciles the whole directory with what is loaded.
final class DirectoryWatcher: Sendable {
    /// What the kernel is told, on its control queue.
    enum Change: Sendable {
        case file(String)
        case rescan(reason: String)
    }

    private let directory: String
    private let quietMilliseconds: Int
    private let queue: DispatchQueue
    private let onChange: @Sendable (Change) -> Void
    private let running = Atomic<Bool>(false)
    private let pending = Mutex<[String: UInt64]>([:])
    private let tokens = Atomic<UInt64>(0)

    private static let fileEvents = UInt32(IN_CLOSE_WRITE) | UInt32(IN_MOVED_TO) | UInt32(IN_DELETE) | UInt32(IN_MOVED_FROM)
    private static let selfEvents = UInt32(IN_DELETE_SELF) | UInt32(IN_MOVE_SELF)
    private static let entryEvents = UInt32(IN_CREATE) | UInt32(IN_MOVED_TO) | UInt32(IN_DELETE) | UInt32(IN_MOVED_FROM)

    init(directory: String, quietMilliseconds: Int = 250, queue: DispatchQueue,
         onChange: @escaping @Sendable (Change) -> Void) {
        self.directory = directory
        self.quietMilliseconds = quietMilliseconds
        self.queue = queue
        self.onChange = onChange
    }

    /// Starts watching. Call it before the first scan, so that a file
    /// dropped during the scan is reported (the kernel skips what it has).
    func start() throws(KernelError) {
        let fd = inotify_init1(Int32(IN_CLOEXEC))
        guard fd >= 0 else { throw KernelError(1, "inotify_init1: \(errnoText())") }
        let directoryWatch = inotify_add_watch(fd, directory, Self.fileEvents | Self.selfEvents)
        guard directoryWatch >= 0 else {
            close(fd)
            throw KernelError(1, "cannot watch \(directory): \(errnoText())")
        }
        // The parent, for the directory's own entry: removed, renamed, or a symlink swapped.
        let parentWatch = inotify_add_watch(fd, Self.parent(of: directory), Self.entryEvents)
        running.store(true, ordering: .releasing)
        let thread = Thread { [self] in
            self.readLoop(fd, directoryWatch: directoryWatch, parentWatch: parentWatch)
            close(fd)
        }
        thread.name = "kernel.watcher"
        thread.start()
    }

    func stop() { running.store(false, ordering: .releasing) }

    private func readLoop(_ fd: Int32, directoryWatch: Int32, parentWatch: Int32) {
        var directoryWatch = directoryWatch
        let entryName = URL(fileURLWithPath: directory).lastPathComponent
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        var watched = Self.identity(of: directory)
        while running.load(ordering: .acquiring) {
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, 200) > 0 else {
                // A symlink swapped higher up the path (…/current/plugins with `current` replaced)
                // changes what the path names without an event here: compare, now and then.
                let now = Self.identity(of: directory)
                if now != watched {
                    watched = now
                    inotify_rm_watch(fd, directoryWatch)
                    directoryWatch = inotify_add_watch(fd, directory, Self.fileEvents | Self.selfEvents)
                    scheduleRescan("the plugins directory's path now names another directory")
                }
                continue
            }
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            guard count > 0 else { continue }
            var offset = 0
            var rewatch: String?
            // struct inotify_event: wd, mask, cookie, len (4 bytes each), then len bytes of name.
            while offset + 16 <= count {
                let (watch, mask, length) = buffer.withUnsafeBytes {
                    ($0.load(fromByteOffset: offset, as: Int32.self), $0.load(fromByteOffset: offset + 4, as: UInt32.self),
                     Int($0.load(fromByteOffset: offset + 12, as: UInt32.self)))
                }
                let nameBytes = buffer[(offset + 16)..<min(offset + 16 + length, count)].prefix { $0 != 0 }
                let name = String(decoding: nameBytes, as: UTF8.self)
                offset += 16 + length
                if mask & UInt32(IN_Q_OVERFLOW) != 0 {
                    scheduleRescan("the inotify event queue overflowed; events were lost")
                } else if watch == directoryWatch && mask & Self.selfEvents != 0 {
                    rewatch = "the plugins directory was removed or moved"
                } else if watch == directoryWatch {
                    if PluginFiles.isPluginFileName(name) { schedule("\(directory)/\(name)") }
                } else if watch == parentWatch && name == entryName {
                    rewatch = "the plugins directory's entry in its parent changed (removed, renamed or swapped)"
                }
            }
            if let rewatch {
                // Follow the path: the old watch may be on a directory no longer there.
                watched = Self.identity(of: directory)
                inotify_rm_watch(fd, directoryWatch)
                directoryWatch = inotify_add_watch(fd, directory, Self.fileEvents | Self.selfEvents)
                scheduleRescan(directoryWatch >= 0 ? rewatch : "\(rewatch), and it is gone: loaded plugins stay until it is back")
            }
        }
    }

    /// The device and inode the path names now (nil: nothing there).
    private static func identity(of path: String) -> [UInt64]? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return [UInt64(info.st_dev), UInt64(info.st_ino)]
    }

    private static func parent(of path: String) -> String {
        let parent = URL(fileURLWithPath: path).deletingLastPathComponent().path
        return parent.isEmpty ? "." : parent
    }

    /// Reports `path` after it has been quiet for the quiet period.
    private func schedule(_ path: String) {
        debounce(path) { .file(path) }
    }

    private func scheduleRescan(_ reason: String) {
        debounce("") { .rescan(reason: reason) }
    }

    /// Reports a change under `key` once nothing else came under that key for the quiet period.
    private func debounce(_ key: String, _ change: @escaping @Sendable () -> Change) {
        let token = tokens.add(1, ordering: .relaxed).newValue
        pending.withLock { $0[key] = token }
        queue.asyncAfter(deadline: .now() + .milliseconds(quietMilliseconds)) { [self] in
            let current = pending.withLock { pending -> Bool in
                guard pending[key] == token else { return false }
                pending[key] = nil
                return true
            }
            if current && running.load(ordering: .acquiring) { onChange(change()) }
        }
    }
}
