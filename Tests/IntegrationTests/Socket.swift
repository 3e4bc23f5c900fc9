import Foundation
import Glibc

/// A socket error with the failing call and errno text.
struct SocketError: Error, CustomStringConvertible {
    var description: String
    var errnoValue: Int32
    init(_ what: String, errno value: Int32 = errno) {
        self.errnoValue = value
        self.description = "\(what): \(String(cString: strerror(value)))"
    }
    var isTimeout: Bool { errnoValue == EAGAIN || errnoValue == EWOULDBLOCK }
}

/// A blocking stream socket with send and receive deadlines (SO_RCVTIMEO,
/// SO_SNDTIMEO): the small core both test clients share.
final class BlockingSocket {
    private(set) var fd: Int32

    /// Connects to TCP `host`:`port` (IPv4); `receiveBuffer` fixes SO_RCVBUF
    /// (no autotuning) before connecting.
    static func tcp(host: String = "127.0.0.1", port: Int, timeout: TimeInterval, receiveBuffer: Int? = nil) throws -> BlockingSocket {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw SocketError("socket") }
        let sock = BlockingSocket(fd: fd)
        try sock.setTimeout(timeout)
        if var size = receiveBuffer.map(Int32.init) {
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        guard inet_pton(AF_INET, host, &address.sin_addr) == 1 else { throw SocketError("inet_pton \(host)", errno: EINVAL) }
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else { throw SocketError("connect \(host):\(port)") }
        return sock
    }

    /// Connects to the Unix domain socket at `path`.
    static func unix(path: String, timeout: TimeInterval) throws -> BlockingSocket {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw SocketError("socket") }
        let sock = BlockingSocket(fd: fd)
        try sock.setTimeout(timeout)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            throw SocketError("socket path too long (\(bytes.count) bytes): \(path)", errno: ENAMETOOLONG)
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard rc == 0 else { throw SocketError("connect \(path)") }
        return sock
    }

    private init(fd: Int32) { self.fd = fd }
    deinit { close() }

    func setTimeout(_ timeout: TimeInterval) throws {
        var tv = timeval(tv_sec: Int(timeout), tv_usec: Int((timeout - floor(timeout)) * 1_000_000))
        let size = socklen_t(MemoryLayout<timeval>.size)
        guard setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, size) == 0,
              setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, size) == 0
        else { throw SocketError("setsockopt timeouts") }
    }

    /// Writes every byte (MSG_NOSIGNAL: a closed peer is an error, not SIGPIPE).
    func sendAll(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { raw in
                send(fd, raw.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL))
            }
            if n < 0 {
                if errno == EINTR { continue }
                throw SocketError("send")
            }
            offset += n
        }
    }

    /// Reads what is available, up to `max` bytes; nil at end of stream.
    /// Throws on error, and on the receive deadline (SocketError.isTimeout).
    func receive(max: Int = 65536) throws -> [UInt8]? {
        var buffer = [UInt8](repeating: 0, count: max)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, max, 0) }
            if n > 0 { return Array(buffer[0..<n]) }
            if n == 0 { return nil }
            if errno == EINTR { continue }
            throw SocketError("recv")
        }
    }

    /// Half-closes the sending side.
    func shutdownWrite() { _ = shutdown(fd, Int32(SHUT_WR)) }

    func close() {
        if fd >= 0 {
            _ = Glibc.close(fd)
            fd = -1
        }
    }
}
