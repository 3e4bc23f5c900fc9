import Dispatch
import Foundation
import Glibc
import Logging
import Synchronization

/// The `kernel` executable's parent process: it holds the admin socket and
/// every listening socket, runs the kernel proper in a worker process, and
/// starts a new worker when one dies.
///
/// A plugin that crashes takes only the worker down. Connections that arrive
/// meanwhile wait in the sockets' backlogs, which the supervisor keeps open,
/// and the next worker accepts them; `kernelctl` waits the same way. The
/// worker's fatal-signal handler writes which plugin faulted to the crash
/// ledger, and the next worker leaves a plugin out once it is quarantined.
///
/// Threads: `run` blocks the calling thread until the supervisor stops; the
/// worker's channel is served on a thread of its own, signals on Dispatch.
public final class Supervisor: Sendable {
    public struct Options: Sendable {
        public var socketPath: String
        public var dataDirectory: String
        /// The worker's command line, without the executable.
        public var arguments: [String]

        public init(socketPath: String, dataDirectory: String, arguments: [String]) {
            self.socketPath = socketPath
            self.dataDirectory = dataDirectory
            self.arguments = arguments
        }
    }

    let options: Options
    let logger: Logger
    private let stopping = Atomic<Bool>(false)
    private let worker = Atomic<Int32>(0)
    /// SIGHUP: the running worker stops and a fresh one replaces it.
    private let replacing = Atomic<Bool>(false)

    public init(options: Options, logger: Logger) {
        self.options = options
        self.logger = logger
    }

    /// Serves until SIGTERM or SIGINT (forwarded to the worker, which drains),
    /// or until a worker exits by itself. Returns the exit code for the process.
    public func run() -> Int32 {
        let admin: Int32
        do {
            try FileIO.makeDirectory(options.dataDirectory)
            admin = try AdminServer.bindSocket(options.socketPath)
        } catch {
            logger.critical("cannot start: \(error)")
            return 1
        }
        defer {
            close(admin)
            unlink(options.socketPath)
        }
        let signals = forwardTerminationSignals()
        defer { signals.forEach { $0.cancel() } }
        guard let executable = Self.executablePath() else {
            logger.critical("cannot start: /proc/self/exe does not name this executable")
            return 1
        }

        let ledger = CrashLedger(path: options.dataDirectory + "/crashes")
        let readyWorker = Atomic<Int32>(0)
        let broker = ListenerBroker { [self] in readyWorker.store(worker.load(ordering: .acquiring), ordering: .releasing) }
        var restarts = 0
        var quickDeaths = 0
        while true {
            var pair: [Int32] = [-1, -1]
            guard socketpair(AF_UNIX, Int32(SOCK_SEQPACKET.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &pair) == 0 else {
                logger.critical("socketpair: \(errnoText())")
                return 1
            }
            broker.workerStarting()
            let started = currentMilliseconds()
            let pid = spawn(executable, channel: pair[1], admin: admin, restarts: restarts)
            close(pair[1])
            guard let pid else {
                close(pair[0])
                return 1
            }
            worker.store(pid, ordering: .sequentiallyConsistent)
            // A signal between the fork and the store: forwarded now.
            if stopping.load(ordering: .sequentiallyConsistent) { kill(pid, SIGTERM) }
            let channel = pair[0]
            let thread = Thread { broker.serve(channel); close(channel) }
            thread.name = "kernel.supervisor.channel"
            thread.start()

            let status = Self.wait(for: pid)
            worker.store(0, ordering: .releasing)
            let wasReady = readyWorker.load(ordering: .acquiring) == pid
            let lived = currentMilliseconds() - started
            let signal = status & 0x7F
            if stopping.load(ordering: .sequentiallyConsistent) {
                logger.info("worker \(pid) stopped; supervisor exiting")
                return signal == 0 ? (status >> 8) & 0xFF : 0
            }
            if signal == 0 {
                let code = (status >> 8) & 0xFF
                // Not started (a bad configuration, an untrusted plugins directory): starting again would fail the same way.
                if code != 0 && !wasReady && restarts == 0 {
                    logger.critical("worker \(pid) could not start (exit code \(code)); supervisor exiting")
                    return code
                }
                if code == 0 && !replacing.exchange(false, ordering: .acquiringAndReleasing) {
                    logger.info("worker \(pid) exited; supervisor exiting")
                    return 0
                }
            }
            restarts += 1
            if signal == 0 && (status >> 8) & 0xFF == 0 {
                logger.info("worker \(pid) replaced on SIGHUP; starting worker \(restarts + 1)")
                continue
            }
            let cause = signal == 0 ? "exited with code \((status >> 8) & 0xFF)" : "died of \(Self.signalName(signal))"
            if let crash = ledger.lastCrash(after: started), crash.plugin != "-" {
                logger.error("worker \(pid) \(cause) after \(lived) ms; crash attributed to plugin \(crash.plugin) at \(crash.location); starting worker \(restarts + 1)")
            } else {
                logger.error("worker \(pid) \(cause) after \(lived) ms, outside any plugin; starting worker \(restarts + 1)")
            }
            // A worker that dies as it starts, again and again, is not restarted in a tight loop.
            quickDeaths = lived < 2_000 ? quickDeaths + 1 : 0
            if quickDeaths > 3 {
                let delay = min(5_000, 250 << min(quickDeaths - 4, 5))
                logger.warning("worker died \(quickDeaths) times within 2 s of starting; waiting \(delay) ms")
                usleep(UInt32(delay) * 1_000)
            }
            if stopping.load(ordering: .sequentiallyConsistent) { return 0 }
        }
    }

    /// SIGTERM and SIGINT stop the supervisor: it forwards them to the worker and returns once it exited.
    private func forwardTerminationSignals() -> [any DispatchSourceSignal] {
        signal(SIGPIPE, SIG_IGN)
        return [SIGTERM, SIGINT, SIGHUP].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { [self] in
                // SIGHUP: the worker drains and exits, and a new one takes the sockets.
                if number == SIGHUP { replacing.store(true, ordering: .releasing) } else { stopping.store(true, ordering: .sequentiallyConsistent) }
                let pid = worker.load(ordering: .sequentiallyConsistent)
                if pid > 0 { kill(pid, SIGTERM) }
            }
            source.resume()
            return source
        }
    }

    private func spawn(_ executable: String, channel: Int32, admin: Int32, restarts: Int) -> Int32? {
        // Moved above the fixed numbers first: dup2 onto 3 must not overwrite the other source.
        let channelCopy = fcntl(channel, F_DUPFD_CLOEXEC, 10), adminCopy = fcntl(admin, F_DUPFD_CLOEXEC, 10)
        defer { close(channelCopy); close(adminCopy) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, channelCopy, SupervisorEnvironment.channelFD)
        posix_spawn_file_actions_adddup2(&actions, adminCopy, SupervisorEnvironment.adminFD)
        // The supervisor ignores these to catch them through Dispatch; the worker must not inherit that.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var defaults = sigset_t(), mask = sigset_t()
        sigemptyset(&defaults)
        sigemptyset(&mask)
        for number in [SIGTERM, SIGINT, SIGHUP, SIGPIPE] { sigaddset(&defaults, number) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setsigmask(&attributes, &mask)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))

        var environment: [String] = []
        var entry: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?> = environ
        while let pointer = entry.pointee {
            let text = String(cString: pointer)
            if !SupervisorEnvironment.all.contains(where: { text.hasPrefix($0 + "=") }) { environment.append(text) }
            entry = entry.advanced(by: 1)
        }
        environment += [
            "\(SupervisorEnvironment.channel)=\(SupervisorEnvironment.channelFD)",
            "\(SupervisorEnvironment.admin)=\(SupervisorEnvironment.adminFD)",
            "\(SupervisorEnvironment.pid)=\(getpid())",
            "\(SupervisorEnvironment.restarts)=\(restarts)",
        ]
        let argv = ([executable] + options.arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup($0) } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        var pid: pid_t = 0
        let status = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
        guard status == 0 else {
            logger.critical("cannot start a worker: \(errnoText(status))")
            return nil
        }
        return pid
    }

    private static func wait(for pid: Int32) -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            if errno != EINTR { return 0 }
        }
        return status
    }

    private static func executablePath() -> String? {
        var buffer = [CChar](repeating: 0, count: 4096)
        let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard count > 0 else { return nil }
        return String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    static func signalName(_ number: Int32) -> String {
        switch number {
        case SIGSEGV: "SIGSEGV"
        case SIGBUS: "SIGBUS"
        case SIGILL: "SIGILL"
        case SIGFPE: "SIGFPE"
        case SIGABRT: "SIGABRT"
        case SIGTRAP: "SIGTRAP"
        case SIGKILL: "SIGKILL"
        case SIGTERM: "SIGTERM"
        default: "signal \(number)"
        }
    }
}
