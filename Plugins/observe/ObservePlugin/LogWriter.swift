import Dispatch
import Glibc
import Synchronization

/// Appends lines to a file through a buffer: a call adds its line under a
/// lock and goes on; the buffer reaches the file when it holds 64 KiB, or
/// 200 ms after its first line (a flush scheduled by that line), and at `close`. A kernel killed
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
    }

    func append(_ line: [UInt8]) {
        let full = buffer.withLock { state -> [UInt8]? in
            guard !state.closed else { return nil }
            if state.bytes.isEmpty { scheduleFlush() }
            state.bytes.append(contentsOf: line)
            state.bytes.append(0x0A)
            guard state.bytes.count >= Self.limit else { return nil }
            defer { state.bytes = []; state.bytes.reserveCapacity(Self.limit + 1024) }
            return state.bytes
        }
        if let full { write(full) }
    }

    /// The first line into an empty buffer schedules its write: lines never wait longer than that.
    private func scheduleFlush() {
        DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(200)) { [weak self] in self?.flush() }
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
}

struct LogFileError: Error, CustomStringConvertible {
    let path: String
    let code: Int32
    var description: String { "cannot open log file \(path): \(String(cString: strerror(code)))" }
}
