import Foundation
import Glibc

/// A JSON object as produced by `JSONSerialization`.
typealias JSONObject = [String: Any]

/// Why a command failed; `description` is the text after `kernelctl: `.
enum CtlError: Error, CustomStringConvertible {
    /// The socket could not be opened or connected.
    case cannotConnect(path: String, reason: String)
    /// The kernel answered `ok: false`. `details` is the error's `details`
    /// object, each value as text (e.g. `job_id` of a duplicate job).
    case kernel(code: String, message: String, details: [String: String] = [:])
    /// The connection broke or the kernel's answer did not follow the protocol.
    case transport(String)

    var description: String {
        switch self {
        case .cannotConnect(let path, let reason): "cannot connect to kernel at \(path): \(reason)"
        case .kernel(let code, let message, _): "\(code): \(message)"
        case .transport(let message): message
        }
    }
}

/// One connection to the kernel's admin socket (protocol version 1:
/// newline-delimited JSON, one response line per request line, in order).
///
/// Blocking I/O on purpose: the CLI sends one request and waits for its answer,
/// so an event loop would add nothing.
struct AdminClient: ~Copyable {
    /// The protocol's bound on one line; a longer answer is a broken kernel.
    static let maxLineLength = 16 * 1024 * 1024

    private let fd: Int32
    private let path: String
    /// Bytes read past the end of the last line (the protocol allows pipelining).
    private var buffer: [UInt8] = []
    private var nextID = 1

    /// Connects to the Unix domain stream socket at `path`.
    init(path: String) throws(CtlError) {
        self.path = path
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        // sun_path must hold the path and its terminating NUL.
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard !bytes.isEmpty, bytes.count < capacity else {
            throw .cannotConnect(path: path, reason: String(cString: strerror(bytes.isEmpty ? ENOENT : ENAMETOOLONG)))
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }

        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw .cannotConnect(path: path, reason: String(cString: strerror(errno))) }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard result == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw .cannotConnect(path: path, reason: reason)
        }
        self.fd = fd
    }

    deinit { close(fd) }

    /// Sends `op` with `args` and returns the `result` object of the answer.
    /// An `ok: false` answer is thrown as `CtlError.kernel`.
    mutating func request(_ op: String, _ args: JSONObject = [:]) throws(CtlError) -> JSONObject {
        let id = nextID
        nextID += 1
        var request: JSONObject = ["id": id, "op": op]
        if !args.isEmpty { request["args"] = args }
        let line: Data
        do {
            line = try JSONSerialization.data(withJSONObject: request, options: [.withoutEscapingSlashes])
        } catch {
            throw .transport("cannot encode request: \(error)")
        }
        try send(Array(line) + [UInt8(ascii: "\n")])

        let response = try receiveLine()
        guard let object = (try? JSONSerialization.jsonObject(with: Data(response))) as? JSONObject else {
            throw .transport("invalid response from kernel: not a JSON object")
        }
        if let echoed = object["id"], (echoed as? Int) != id {
            throw .transport("invalid response from kernel: id \(echoed) does not match request \(id)")
        }
        guard let ok = object["ok"] as? Bool else {
            throw .transport("invalid response from kernel: missing 'ok'")
        }
        guard ok else {
            let error = object["error"] as? JSONObject
            throw .kernel(
                code: error?["code"] as? String ?? "internal",
                message: error?["message"] as? String ?? "no message",
                details: (error?["details"] as? JSONObject ?? [:]).mapValues { Output.text($0) })
        }
        return object["result"] as? JSONObject ?? [:]
    }

    private func send(_ bytes: [UInt8]) throws(CtlError) {
        var offset = 0
        while offset < bytes.count {
            // MSG_NOSIGNAL: a kernel that went away must be an error, not SIGPIPE.
            let written = bytes.withUnsafeBytes {
                Glibc.send(fd, $0.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL))
            }
            if written < 0 {
                if errno == EINTR { continue }
                throw .transport("cannot write to kernel at \(path): \(String(cString: strerror(errno)))")
            }
            offset += written
        }
    }

    /// Reads up to the next `\n`, leaving any further bytes in `buffer`.
    private mutating func receiveLine() throws(CtlError) -> [UInt8] {
        var scanned = 0
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            if let newline = buffer[scanned...].firstIndex(of: UInt8(ascii: "\n")) {
                let line = Array(buffer[..<newline])
                buffer.removeSubrange(...newline)
                return line
            }
            scanned = buffer.count
            guard buffer.count <= Self.maxLineLength else {
                throw .transport("invalid response from kernel: line longer than 16 MiB")
            }
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw .transport("cannot read from kernel at \(path): \(String(cString: strerror(errno)))")
            }
            if count == 0 { throw .transport("kernel at \(path) closed the connection") }
            buffer.append(contentsOf: chunk[..<count])
        }
    }
}
