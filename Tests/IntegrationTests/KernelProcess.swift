import Foundation
import Glibc

/// The real `kernel` executable, run in a fresh temporary directory:
///
///     <root>/plugins   the watched plugins directory
///     <root>/data      the data directory
///     <root>/build     scratch space outside the plugins directory (same file system, for renames)
///     <root>/admin.sock, <root>/kernel.log (stdout and stderr)
///
/// `--set http.port=0` makes the HTTP plugin bind a free port, found through
/// the admin `status` listeners.
final class KernelProcess {
    let root: String
    let pluginsDirectory: String
    let dataDirectory: String
    let buildDirectory: String
    let socketPath: String
    let logPath: String
    let arguments: [String]
    private let process = Process()
    private var logHandle: FileHandle?
    private(set) var httpPort = 0
    private(set) var started = false

    /// `plugins`: build products copied into the plugins directory before start.
    /// `settings`: extra `--set` values (`http.port=0` is always passed first).
    init(plugins: [String] = ["libhttp.so", "libhello.so"], settings: [String] = [], configFile: String? = nil,
         extraArguments: [String] = []) throws {
        let kernel = try Products.path("kernel")
        root = try makeTemporaryDirectory()
        pluginsDirectory = root + "/plugins"
        dataDirectory = root + "/data"
        buildDirectory = root + "/build"
        socketPath = root + "/admin.sock"
        logPath = root + "/kernel.log"
        for directory in [pluginsDirectory, dataDirectory, buildDirectory] {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        for name in plugins {
            try FileManager.default.copyItem(atPath: try Products.path(name), toPath: pluginsDirectory + "/" + name)
        }
        var arguments = ["--plugins", pluginsDirectory, "--data", dataDirectory, "--socket", socketPath]
        if let configFile { arguments += ["--config", configFile] }
        for setting in ["http.port=0"] + settings { arguments += ["--set", setting] }
        arguments += extraArguments
        self.arguments = arguments
        process.executableURL = URL(fileURLWithPath: kernel)
        process.arguments = arguments
    }

    /// The `kernel` process: the supervisor, unless started with `--no-supervisor`.
    var pid: Int32 { process.processIdentifier }
    /// The process that runs the plugins (the supervisor's worker), from `status`.
    func workerPID() throws -> Int32 {
        guard let pid = try adminResult("status")["pid"] as? Int else { throw SetupError("status has no pid") }
        return Int32(pid)
    }
    var isRunning: Bool { process.isRunning }

    /// Starts the kernel and waits until the admin socket answers `status`
    /// with an http listener and every plugin of `waitingFor` is listed.
    func start(waitingFor pluginNames: [String] = ["http", "hello"], timeout: TimeInterval = 20) throws {
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        let handle = FileHandle(forWritingAtPath: logPath)
        logHandle = handle
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        started = true
        var lastProblem = "no answer yet"
        let ready = waitUntil(timeout: timeout) {
            guard process.isRunning else { return true }
            do {
                let admin = try AdminClient(path: socketPath, timeout: 5)
                let status = try admin.result("status")
                let listeners = status["listeners"] as? [[String: Any]] ?? []
                guard let http = listeners.first(where: { $0["plugin"] as? String == "http" }),
                      let port = http["port"] as? Int, port > 0
                else {
                    lastProblem = "status has no http listener: \(listeners)"
                    return false
                }
                let list = try admin.result("list")
                let missing = pluginNames.filter { list.plugin(named: $0) == nil }
                guard missing.isEmpty else {
                    lastProblem = "plugins not loaded yet: \(missing); rejected: \(list.rejected)"
                    return false
                }
                httpPort = port
                return true
            } catch {
                lastProblem = "\(error)"
                return false
            }
        }
        guard process.isRunning else {
            throw SetupError("kernel exited during startup with status \(process.terminationStatus); log:\n\(log())")
        }
        guard ready else {
            throw SetupError("kernel not ready within \(timeout) s (\(lastProblem)); log:\n\(log())")
        }
    }

    /// Everything the kernel wrote to stdout and stderr so far.
    func log() -> String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// Waits until a log line contains every string of `words`; returns it.
    func waitForLogLine(containing words: [String], timeout: TimeInterval = 10) -> String? {
        var found: String?
        waitUntil(timeout: timeout) {
            found = log().split(separator: "\n").first { line in words.allSatisfy { line.contains($0) } }.map(String.init)
            return found != nil
        }
        return found
    }

    func admin() throws -> AdminClient { try AdminClient(path: socketPath) }
    func adminResult(_ op: String, _ args: [String: Any]? = nil) throws -> [String: Any] {
        try AdminClient.result(socket: socketPath, op, args)
    }

    /// Sends SIGTERM and waits up to `timeout` for the exit. Returns the
    /// exit status (nil: still running at the deadline, or killed by a signal).
    func terminate(timeout: TimeInterval = 20) -> (exited: Bool, status: Int32, byExit: Bool) {
        guard started else { return (true, 0, true) }
        if process.isRunning { kill(process.processIdentifier, SIGTERM) }
        let exited = waitUntil(timeout: timeout, interval: 0.02) { !process.isRunning }
        guard exited else { return (false, 0, false) }
        return (true, process.terminationStatus, process.terminationReason == .exit)
    }

    /// Stops the kernel: SIGTERM, then SIGKILL after `timeout`.
    func stop(timeout: TimeInterval = 15) {
        guard started, process.isRunning else { return }
        if !terminate(timeout: timeout).exited {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    /// Also closes the log's descriptor: a suite starts hundreds of kernels.
    func removeDirectory() {
        if !process.isRunning {
            try? logHandle?.close()
            logHandle = nil
        }
        try? FileManager.default.removeItem(atPath: root)
    }

    // MARK: Plugins directory

    /// Moves `path` (outside the plugins directory) into it as `name`: one rename.
    func renameIntoPlugins(_ path: String, as name: String) throws {
        let destination = pluginsDirectory + "/" + name
        guard rename(path, destination) == 0 else {
            throw SetupError("rename \(path) → \(destination): \(String(cString: strerror(errno)))")
        }
    }

    /// Copies `path` into the plugins directory as `name` (a plain write of the file).
    func copyIntoPlugins(_ path: String, as name: String) throws {
        let destination = pluginsDirectory + "/" + name
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        // open, write, close in place (IN_CLOSE_WRITE), no temporary and rename.
        let fd = open(destination, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o755)
        guard fd >= 0 else { throw SetupError("open \(destination): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + offset, bytes.count - offset) }
            guard n > 0 else { throw SetupError("write \(destination): \(String(cString: strerror(errno)))") }
            offset += n
        }
    }

    func removeFromPlugins(_ name: String) throws {
        try FileManager.default.removeItem(atPath: pluginsDirectory + "/" + name)
    }
}
