import CSupervision
import Glibc
import Synchronization

/// The supervisor's side of a worker's channel: it binds listening sockets,
/// keeps them across workers and hands each worker copies.
final class ListenerBroker: Sendable {
    let pool = ListenerPool()
    /// "plugin|host|port" asked for by the current worker since it started.
    private let claimed = Mutex<Set<String>>([])
    private let onReady: @Sendable () -> Void

    init(onReady: @escaping @Sendable () -> Void) { self.onReady = onReady }

    /// A new worker starts: nothing claimed yet.
    func workerStarting() { claimed.withLock { $0.removeAll() } }

    /// Answers the worker's requests until it closes its end (it exited).
    func serve(_ channel: Int32) {
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            var received: Int32 = -1
            let count = buffer.withUnsafeMutableBytes { kn_receive_with_fd(channel, $0.baseAddress, $0.count, &received) }
            if received >= 0 { Glibc.close(received) } // workers send no descriptors
            guard count > 0 else { return }
            let fields = SupervisorEnvironment.fields(buffer[..<count])
            let (reply, fd) = answer(fields)
            let bytes = Array(reply.joined(separator: "\n").utf8)
            let sent = bytes.withUnsafeBytes { kn_send_with_fd(channel, $0.baseAddress, $0.count, fd) }
            if fd >= 0 { Glibc.close(fd) } // the worker has its own copy now
            guard sent >= 0 else { return }
        }
    }

    private func answer(_ fields: [String]) -> (reply: [String], fd: Int32) {
        switch fields.first {
        case "listen" where fields.count == 4:
            guard let port = UInt16(fields[3]) else { return (["error", String(KN_ERR_INVALID_ARGUMENT), "invalid port"], -1) }
            switch pool.listen(plugin: fields[1], host: fields[2], port: port) {
            case .success(let listener):
                claimed.withLock { _ = $0.insert(ListenerPool.claim(fields[1], fields[2], port)) }
                return (["ok", String(listener.port)], listener.fd)
            case .failure(let error):
                return (["error", String(error.status), error.message], -1)
            }
        case "close" where fields.count >= 2:
            let keeping = Set(fields.dropFirst(2))
            pool.close(plugin: fields[1], keeping: keeping)
            claimed.withLock { claimed in
                claimed = claimed.filter { claim in
                    !claim.hasPrefix(fields[1] + "|") || keeping.contains(String(claim.dropFirst(fields[1].utf8.count + 1)))
                }
            }
            return (["ok"], -1)
        case "ready":
            pool.close(unclaimed: claimed.withLock { $0 })
            onReady()
            return (["ok"], -1)
        default:
            return (["error", String(KN_ERR_INVALID_ARGUMENT), "unknown request"], -1)
        }
    }
}
