import Glibc

/// File operations with POSIX calls, errors as errno text.
enum FileIO {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    static func readPrefix(_ path: String, count: Int) -> Result<[UInt8], Failure> {
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return .failure(Failure(description: errnoText())) }
        defer { close(fd) }
        var bytes = [UInt8](repeating: 0, count: count)
        let n = bytes.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, count) }
        guard n >= 0 else { return .failure(Failure(description: errnoText())) }
        return .success(Array(bytes[0..<n]))
    }

    /// A whole (small) file.
    static func read(_ path: String) -> Result<[UInt8], Failure> {
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return .failure(Failure(description: errnoText())) }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n >= 0 else { return .failure(Failure(description: errnoText())) }
            if n == 0 { return .success(bytes) }
            bytes.append(contentsOf: chunk[..<n])
        }
    }

    /// Copies a file in the kernel (sendfile), without passing it through memory here.
    static func copy(_ source: String, to target: String) throws(Failure) {
        let input = Glibc.open(source, O_RDONLY | O_CLOEXEC)
        guard input >= 0 else { throw Failure(description: "\(source): \(errnoText())") }
        defer { close(input) }
        var info = stat()
        guard fstat(input, &info) == 0 else { throw Failure(description: errnoText()) }
        let output = Glibc.open(target, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o755)
        guard output >= 0 else { throw Failure(description: "\(target): \(errnoText())") }
        defer { close(output) }
        var remaining = Int(info.st_size)
        while remaining > 0 {
            let n = sendfile(output, input, nil, remaining)
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw Failure(description: n == 0 ? "file shrank while copying" : errnoText()) }
            remaining -= n
        }
    }

    static func makeDirectory(_ path: String) throws(Failure) {
        var current = path.hasPrefix("/") ? "" : "."
        for part in path.split(separator: "/") {
            current += "/" + part
            if mkdir(current, 0o755) != 0 && errno != EEXIST { throw Failure(description: "\(current): \(errnoText())") }
        }
    }

    static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }
}

func errnoText(_ code: Int32 = errno) -> String { String(cString: strerror(code)) }
