import Foundation
import Glibc
import Synchronization

/// The admin socket: a Unix domain socket (mode 0600) speaking
/// newline-delimited JSON, as `Protocols/admin-protocol.md` specifies.
/// One thread accepts; each connection gets a thread of its own (admin
/// traffic is a handful of operators and scripts).
final class AdminServer: Sendable {
    static let maxLineLength = 16 << 20

    private let path: String
    private let handler: @Sendable ([String: Any]) -> [String: Any]
    private let refused: @Sendable (String) -> Void
    private let listenFD = Atomic<Int32>(-1)

    /// `refused` hears, in one line, why a connection was turned away.
    init(path: String, refused: @escaping @Sendable (String) -> Void = { _ in },
         handler: @escaping @Sendable ([String: Any]) -> [String: Any]) {
        self.path = path
        self.refused = refused
        self.handler = handler
    }

    func start() throws(KernelError) {
        guard path.utf8.count < 108 else { throw KernelError(1, "socket path too long (max 107 bytes): \(path)") }
        try removeStaleSocket()
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw KernelError(1, "socket: \(errnoText())") }
        var address = Self.address(path)
        let previous = umask(0o177) // the socket file is created 0600: only the kernel's user may connect
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        umask(previous)
        guard bound == 0, listen(fd, 64) == 0 else {
            let message = "cannot listen on \(path): \(errnoText())"
            close(fd)
            throw KernelError(1, message)
        }
        chmod(path, 0o600)
        listenFD.store(fd, ordering: .releasing)
        let thread = Thread { [self] in acceptLoop(fd) }
        thread.name = "kernel.admin"
        thread.start()
    }

    func stop() {
        let fd = listenFD.exchange(-1, ordering: .acquiringAndReleasing)
        if fd >= 0 {
            shutdown(fd, Int32(SHUT_RDWR))
            close(fd)
            unlink(path)
        }
    }

    private func removeStaleSocket() throws(KernelError) {
        var info = stat()
        guard lstat(path, &info) == 0 else { return }
        guard info.st_mode & S_IFMT == S_IFSOCK else {
            throw KernelError(1, "\(path) exists and is not a socket; not removing it")
        }
        let probe = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(probe) }
        var address = Self.address(path)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(probe, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        if connected == 0 { throw KernelError(1, "another kernel is listening on \(path)") }
        unlink(path)
    }

    private func acceptLoop(_ fd: Int32) {
        while listenFD.load(ordering: .acquiring) == fd {
            let client = accept(fd, nil, nil)
            if client < 0 {
                if errno == EINTR || errno == ECONNABORTED { continue }
                return
            }
            if let reason = Self.refusal(ofPeer: client) {
                // The socket file is 0600 already; this holds even if its mode or path is changed.
                refused(reason)
                var data = (try? JSONSerialization.data(withJSONObject: Self.error(id: nil, code: "forbidden", message: reason))) ?? Data()
                data.append(0x0A)
                _ = Self.writeAll(client, data)
                close(client)
                continue
            }
            let thread = Thread { [self] in serve(client) }
            thread.name = "kernel.admin.connection"
            thread.start()
        }
    }

    private func serve(_ fd: Int32) {
        defer { close(fd) }
        var reader = LineReader(fd: fd, maxLength: Self.maxLineLength)
        while let line = reader.next() {
            let response: [String: Any]
            switch line {
            case .success(let bytes):
                response = respond(to: bytes)
            case .failure(let error):
                response = Self.error(id: nil, code: "too_large", message: error.message)
            }
            guard var data = try? JSONSerialization.data(withJSONObject: response, options: [.sortedKeys]) else { return }
            data.append(0x0A)
            guard Self.writeAll(fd, data) else { return }
            if case .failure = line { return }
        }
    }

    private func respond(to bytes: [UInt8]) -> [String: Any] {
        guard let object = try? JSONSerialization.jsonObject(with: Data(bytes)),
              let request = object as? [String: Any] else {
            return Self.error(id: nil, code: "invalid_argument", message: "a request is one JSON object per line")
        }
        return handler(request)
    }

    /// Why a connected peer may not use the socket (SO_PEERCRED): only the
    /// kernel's own user and root may; nil when it may.
    static func refusal(ofPeer fd: Int32) -> String? {
        // struct ucred (Linux), which Glibc's module leaves out without _GNU_SOURCE.
        struct PeerCredentials { var pid: Int32 = 0; var uid: UInt32 = 0; var gid: UInt32 = 0 }
        var credentials = PeerCredentials()
        var length = socklen_t(MemoryLayout<PeerCredentials>.size)
        let peerCredentialsOption: Int32 = 17 // SO_PEERCRED
        guard getsockopt(fd, SOL_SOCKET, peerCredentialsOption, &credentials, &length) == 0 else {
            return "admin socket: cannot read the peer's credentials: \(errnoText())"
        }
        if credentials.uid == getuid() || credentials.uid == 0 { return nil }
        return "admin socket: refused a connection from uid \(credentials.uid) (pid \(credentials.pid)): only uid \(getuid()) and root may use it"
    }

    static func error(id: Any?, code: String, message: String, details: [String: Any] = [:]) -> [String: Any] {
        var response: [String: Any] = ["ok": false, "error": ["code": code, "message": message, "details": details]]
        if let id { response["id"] = id }
        return response
    }

    private static func writeAll(_ fd: Int32, _ data: Data) -> Bool {
        data.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { return false }
                offset += n
            }
            return true
        }
    }

    private static func address(_ path: String) -> sockaddr_un {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            let bytes = Array(path.utf8.prefix(raw.count - 1))
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        return address
    }
}

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
