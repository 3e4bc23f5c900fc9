import CSupervision
import Glibc
import Synchronization

/// The worker's end of its supervisor's channel.
///
/// A supervised worker finds it in its environment (`KN_SUPERVISOR_FD`,
/// `KN_ADMIN_FD`): the supervisor binds every listening socket and passes a
/// copy down (`SCM_RIGHTS`), so the sockets outlive a worker that crashes
/// and the next one accepts what queued in the backlog meanwhile. Requests
/// are one datagram each (`SOCK_SEQPACKET`), answered in order; any thread,
/// one exchange at a time.
public final class SupervisorLink: Sendable {
    let channel: Int32
    /// The admin socket, listening already: the worker adopts it.
    let adminFD: Int32
    /// Workers started before this one (0 for the first).
    let restarts: Int
    let supervisorPID: Int32
    private let exchanges = Mutex<Void>(())

    init(channel: Int32, adminFD: Int32, restarts: Int, supervisorPID: Int32) {
        self.channel = channel
        self.adminFD = adminFD
        self.restarts = restarts
        self.supervisorPID = supervisorPID
    }

    /// The link a supervisor set up for this process, or nil when it runs alone.
    /// Also asks to die with the supervisor.
    public static func fromEnvironment() -> SupervisorLink? {
        func number(_ name: String) -> Int32? { getenv(name).flatMap { Int32(String(cString: $0)) } }
        guard let channel = number(SupervisorEnvironment.channel), let admin = number(SupervisorEnvironment.admin),
              let parent = number(SupervisorEnvironment.pid) else { return nil }
        let restarts = Int(number(SupervisorEnvironment.restarts) ?? 0)
        for name in SupervisorEnvironment.all { unsetenv(name) } // not for the plugins' child processes
        _ = fcntl(channel, F_SETFD, FD_CLOEXEC)
        _ = fcntl(admin, F_SETFD, FD_CLOEXEC)
        kn_die_with_parent(SIGKILL) // as if the kernel, one unit, had been killed
        if getppid() != parent { kill(getpid(), SIGKILL) } // it died before the request took hold
        return SupervisorLink(channel: channel, adminFD: admin, restarts: restarts,
                              supervisorPID: parent)
    }

    /// A copy of the listening socket for `plugin` on host:port, bound by the supervisor if new.
    func listen(plugin: String, host: String, port: UInt16) -> Result<(fd: Int32, port: UInt16), KernelError> {
        guard !host.contains("\n") else { return .failure(KernelError(KN_ERR_INVALID_ARGUMENT, "invalid host")) }
        let (reply, fd) = exchange(["listen", plugin, host, String(port)])
        guard let reply else { return .failure(KernelError(KN_ERR_UNAVAILABLE, "the supervisor does not answer")) }
        if reply.first == "ok", reply.count == 2, let bound = UInt16(reply[1]), fd >= 0 {
            return .success((fd, bound))
        }
        if fd >= 0 { Glibc.close(fd) }
        let status = reply.count > 1 ? Int32(reply[1]) ?? KN_ERR_INTERNAL : KN_ERR_INTERNAL
        return .failure(KernelError(status, reply.count > 2 ? reply[2] : "the supervisor refused the listener"))
    }

    /// The supervisor closes `plugin`'s sockets but those in `keeping` ("host|port").
    func close(plugin: String, keeping: Set<String>) {
        _ = exchange(["close", plugin] + keeping.sorted())
    }

    /// Started: the supervisor closes the sockets no plugin of this worker asked for.
    func ready() {
        _ = exchange(["ready"])
    }

    private func exchange(_ fields: [String]) -> (reply: [String]?, fd: Int32) {
        exchanges.withLock { _ in
            let message = Array(fields.joined(separator: "\n").utf8)
            guard message.withUnsafeBytes({ kn_send_with_fd(channel, $0.baseAddress, $0.count, -1) }) == message.count else {
                return (nil, -1)
            }
            var buffer = [UInt8](repeating: 0, count: 4096)
            var fd: Int32 = -1
            let count = buffer.withUnsafeMutableBytes { kn_receive_with_fd(channel, $0.baseAddress, $0.count, &fd) }
            guard count > 0 else { return (nil, fd) }
            return (SupervisorEnvironment.fields(buffer[..<count]), fd)
        }
    }
}

/// What a supervisor tells its worker through the environment.
enum SupervisorEnvironment {
    static let channel = "KN_SUPERVISOR_FD"
    static let admin = "KN_ADMIN_FD"
    static let pid = "KN_SUPERVISOR_PID"
    static let restarts = "KN_WORKER_RESTARTS"
    static let all = [channel, admin, pid, restarts]
    /// Fixed descriptor numbers in the worker.
    static let channelFD: Int32 = 3
    static let adminFD: Int32 = 4

    static func fields(_ bytes: ArraySlice<UInt8>) -> [String] {
        bytes.split(separator: 0x0A, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
    }
}
