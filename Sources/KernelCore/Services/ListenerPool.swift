import CKernelABI
import Glibc
import Synchronization

/// Listening sockets owned by the kernel.
///
/// A transport plugin asks for a listener and receives a duplicate
/// descriptor; the kernel keeps the original open. When the plugin is
/// reloaded, the new version gets a duplicate of the same socket, so the port
/// stays bound and connections queue in the backlog while the versions swap.
/// The socket is closed only when its plugin is unloaded.
///
/// Under a supervisor, the supervisor's pool binds and keeps the sockets
/// (`broker`) and this one only records what its plugins hold, so the
/// sockets also outlive the worker process.
final class ListenerPool: Sendable {
    struct Listener: Sendable {
        let plugin: String
        let host: String
        let requestedPort: UInt16
        let port: UInt16
        let fd: Int32
    }

    private let listeners = Mutex<[Listener]>([])
    private let broker: SupervisorLink?
    /// Set when this process stops: its sockets are the supervisor's to keep for the next worker.
    private let detached = Atomic<Bool>(false)

    func detachFromSupervisor() { detached.store(true, ordering: .releasing) }

    init(broker: SupervisorLink? = nil) { self.broker = broker }

    var all: [Listener] { listeners.withLock { $0 } }

    /// A duplicate of the plugin's listener on host:port, created if needed.
    func listen(plugin: String, host: String, port: UInt16) -> Result<Listener, KernelError> {
        if let broker { return listen(plugin: plugin, host: host, port: port, from: broker) }
        return listeners.withLock { listeners in
            let existing = listeners.first { $0.plugin == plugin && $0.host == host && $0.requestedPort == port }
            let listener: Listener
            if let existing {
                listener = existing
            } else {
                switch Self.bind(host: host, port: port) {
                case .success(let (fd, bound)):
                    listener = Listener(plugin: plugin, host: host, requestedPort: port, port: bound, fd: fd)
                    listeners.append(listener)
                case .failure(let error):
                    return .failure(error)
                }
            }
            let copy = fcntl(listener.fd, F_DUPFD_CLOEXEC, 0)
            guard copy >= 0 else { return .failure(KernelError(KN_ERR_INTERNAL, "dup: \(errnoText())")) }
            return .success(Listener(plugin: plugin, host: host, requestedPort: port, port: listener.port, fd: copy))
        }
    }

    private func listen(plugin: String, host: String, port: UInt16, from broker: SupervisorLink) -> Result<Listener, KernelError> {
        broker.listen(plugin: plugin, host: host, port: port).map { received in
            let listener = Listener(plugin: plugin, host: host, requestedPort: port, port: received.port, fd: received.fd)
            listeners.withLock { listeners in
                // The supervisor keeps the socket: recorded here without a descriptor.
                if !listeners.contains(where: { $0.plugin == plugin && $0.host == host && $0.requestedPort == port }) {
                    listeners.append(Listener(plugin: plugin, host: host, requestedPort: port, port: received.port, fd: -1))
                }
            }
            return listener
        }
    }

    static func key(host: String, port: UInt16) -> String { "\(host)|\(port)" }

    /// Closes the plugin's listeners but those in `keeping` (unload: none kept;
    /// reload: the ones the new version asked for).
    func close(plugin: String, keeping: Set<String> = []) {
        let closing = listeners.withLock { listeners in
            let isClosing = { (listener: Listener) in
                listener.plugin == plugin && !keeping.contains(Self.key(host: listener.host, port: listener.requestedPort))
            }
            let closing = listeners.filter(isClosing)
            listeners.removeAll(where: isClosing)
            return closing
        }
        if !detached.load(ordering: .acquiring) { broker?.close(plugin: plugin, keeping: keeping) }
        for listener in closing where listener.fd >= 0 { Glibc.close(listener.fd) }
    }

    func closeAll() {
        let closing = listeners.withLock { listeners in
            defer { listeners.removeAll() }
            return listeners
        }
        if !detached.load(ordering: .acquiring) {
            for plugin in Set(closing.map(\.plugin)) { broker?.close(plugin: plugin, keeping: []) }
        }
        for listener in closing where listener.fd >= 0 { Glibc.close(listener.fd) }
    }

    /// Closes every socket whose "plugin|host|port" is not in `claimed` (the
    /// supervisor, once a new worker has started: plugins it no longer loads).
    func close(unclaimed claimed: Set<String>) {
        let closing = listeners.withLock { listeners in
            let isClosing = { (listener: Listener) in !claimed.contains(Self.claim(listener.plugin, listener.host, listener.requestedPort)) }
            defer { listeners.removeAll(where: isClosing) }
            return listeners.filter(isClosing)
        }
        for listener in closing where listener.fd >= 0 { Glibc.close(listener.fd) }
    }

    static func claim(_ plugin: String, _ host: String, _ port: UInt16) -> String { "\(plugin)|\(host)|\(port)" }

    private static func bind(host: String, port: UInt16) -> Result<(Int32, UInt16), KernelError> {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV
        var info: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &info)
        guard status == 0, let first = info else {
            return .failure(KernelError(KN_ERR_INVALID_ARGUMENT, "cannot resolve \(host): \(String(cString: gai_strerror(status)))"))
        }
        defer { freeaddrinfo(info) }
        let fd = socket(first.pointee.ai_family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return .failure(KernelError(KN_ERR_INTERNAL, "socket: \(errnoText())")) }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        guard Glibc.bind(fd, first.pointee.ai_addr, first.pointee.ai_addrlen) == 0 else {
            let message = "cannot listen on \(host):\(port): \(errnoText())"
            Glibc.close(fd)
            return .failure(KernelError(KN_ERR_UNAVAILABLE, message))
        }
        guard Glibc.listen(fd, 1024) == 0 else {
            let message = "listen on \(host):\(port): \(errnoText())"
            Glibc.close(fd)
            return .failure(KernelError(KN_ERR_UNAVAILABLE, message))
        }
        var address = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        let family = address.ss_family
        let bound: UInt16 = withUnsafePointer(to: &address) { pointer in
            if family == sa_family_t(AF_INET6) {
                return pointer.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin6_port) }
            }
            return pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin_port) }
        }
        return .success((fd, bound))
    }
}
