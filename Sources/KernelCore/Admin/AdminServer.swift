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
    /// A socket bound and listening already (the supervisor's), served as is.
    private let adoptedFD: Int32?

    /// `refused` hears, in one line, why a connection was turned away.
    init(path: String, adopting adoptedFD: Int32? = nil, refused: @escaping @Sendable (String) -> Void = { _ in },
         handler: @escaping @Sendable ([String: Any]) -> [String: Any]) {
        self.path = path
        self.adoptedFD = adoptedFD
        self.refused = refused
        self.handler = handler
    }

    func start() throws(KernelError) {
        let fd: Int32
        if let adoptedFD { fd = adoptedFD } else { fd = try Self.bindSocket(path) }
        listenFD.store(fd, ordering: .releasing)
        let thread = Thread { [self] in acceptLoop(fd) }
        thread.name = "kernel.admin"
        thread.start()
    }

    func stop() {
        let fd = listenFD.exchange(-1, ordering: .acquiringAndReleasing)
        guard fd >= 0 else { return }
        // The supervisor's socket stays bound and listening for the next worker:
        // not shut down, and left open until this process exits.
        if adoptedFD != nil { return }
        shutdown(fd, Int32(SHUT_RDWR))
        close(fd)
        unlink(path)
    }

    /// Binds and listens on the socket at `path` (0600), after checking no
    /// kernel serves it: the socket is also the lock that keeps a second
    /// kernel off a data directory.
    static func bindSocket(_ path: String) throws(KernelError) -> Int32 {
        guard path.utf8.count < 108 else { throw KernelError(1, "socket path too long (max 107 bytes): \(path)") }
        try removeStaleSocket(path)
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
        return fd
    }

    private static func removeStaleSocket(_ path: String) throws(KernelError) {
        var info = stat()
        guard lstat(path, &info) == 0 else { return }
        guard info.st_mode & S_IFMT == S_IFSOCK else {
            throw KernelError(1, "\(path) exists and is not a socket; not removing it")
        }
        // A kernel killed a moment ago may leave a worker that is still dying: asked again for up to a second.
        for attempt in 0..<10 {
            let probe = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            var address = Self.address(path)
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(probe, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
            close(probe)
            if connected != 0 { break }
            if attempt == 9 { throw KernelError(1, "another kernel is listening on \(path)") }
            usleep(100_000)
        }
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
