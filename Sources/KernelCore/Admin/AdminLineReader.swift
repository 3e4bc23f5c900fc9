import Glibc

/// Reads `\n`-terminated lines from a socket, refusing lines over a limit.
struct LineReader {
    let fd: Int32
    let maxLength: Int
    private var buffer: [UInt8] = []
    private var scanned = 0

    init(fd: Int32, maxLength: Int) {
        self.fd = fd
        self.maxLength = maxLength
    }

    mutating func next() -> Result<[UInt8], LineError>? {
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            if let newline = buffer[scanned...].firstIndex(of: 0x0A) {
                // The limit holds for a line that arrived whole in one read too, not only for one still growing.
                if newline > maxLength { return .failure(LineError(message: "line longer than \(maxLength) bytes")) }
                let line = Array(buffer[..<newline])
                buffer.removeSubrange(...newline)
                scanned = 0
                return .success(line)
            }
            scanned = buffer.count
            if buffer.count > maxLength { return .failure(LineError(message: "line longer than \(maxLength) bytes")) }
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return nil }
            buffer.append(contentsOf: chunk[..<n])
        }
    }
}

struct LineError: Error {
    let message: String
}
