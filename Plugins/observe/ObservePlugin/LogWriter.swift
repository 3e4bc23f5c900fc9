import Glibc
import Synchronization

/// Appends lines to a file through a buffer: a call adds its line under a
/// lock and goes on; the buffer reaches the file when it holds 64 KiB, or
/// within 200 ms from a background thread, and at `close`. A kernel killed
/// with -9 loses at most those 200 ms of lines.
final class LogWriter: Sendable {
    private let fd: Int32
    private let buffer = Mutex<(bytes: [UInt8], closed: Bool)>(([], false))
    /// Held while writing; false once the file is closed, so a late write
    /// never lands on a closed (or reused) descriptor.
    private let flushing = Mutex<Bool>(true)
    private static let limit = 64 * 1024

    init(path: String) throws {
        fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o640)
        guard fd >= 0 else { throw LogFileError(path: path, code: errno) }
        let thread = Thread(writer: self)
        thread.start()
    }

    func append(_ line: [UInt8]) {
        let full = buffer.withLock { state -> [UInt8]? in
            guard !state.closed else { return nil }
            state.bytes.append(contentsOf: line)
            state.bytes.append(0x0A)
            guard state.bytes.count >= Self.limit else { return nil }
            defer { state.bytes = []; state.bytes.reserveCapacity(Self.limit + 1024) }
            return state.bytes
        }
        if let full { write(full) }
    }

    /// Writes what is buffered; returns false once closed.
    @discardableResult
    func flush() -> Bool {
        let (pending, closed) = buffer.withLock { state in
            defer { state.bytes.removeAll(keepingCapacity: true) }
            return (state.bytes, state.closed)
        }
        if !pending.isEmpty { write(pending) }
        return !closed
    }

    func close() {
        flush()
        let wasOpen = buffer.withLock { state in
            defer { state.closed = true }
            return !state.closed
        }
        if wasOpen {
            flushing.withLock { open in
                open = false
                _ = Glibc.close(fd)
            }
        }
    }

    private func write(_ bytes: [UInt8]) {
        // One writer at a time keeps lines whole and in order.
        flushing.withLock { open in
            guard open else { return }
            bytes.withUnsafeBytes { raw in
                var offset = 0
                while offset < raw.count {
                    let written = Glibc.write(fd, raw.baseAddress! + offset, raw.count - offset)
                    if written < 0 { if errno == EINTR { continue } else { return } }
                    offset += written
                }
            }
        }
    }

    /// The background flush, every 200 ms until closed.
    private final class Thread: @unchecked Sendable {
        weak var writer: LogWriter?
        init(writer: LogWriter) { self.writer = writer }
        func start() {
            var thread = pthread_t()
            let context = Unmanaged.passRetained(self).toOpaque()
            pthread_create(&thread, nil, { context in
                let me = Unmanaged<Thread>.fromOpaque(context!).takeRetainedValue()
                while true {
                    usleep(200_000)
                    guard let writer = me.writer, writer.flush() else { return nil }
                }
            }, context)
            pthread_detach(thread)
        }
    }
}

struct LogFileError: Error, CustomStringConvertible {
    let path: String
    let code: Int32
    var description: String { "cannot open log file \(path): \(String(cString: strerror(code)))" }
}
