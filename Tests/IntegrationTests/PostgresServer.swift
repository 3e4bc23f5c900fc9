import Foundation
import Glibc

/// A throwaway PostgreSQL server from Debian's packages: initdb into a
/// temporary directory, pg_ctl start on a free loopback port, stop and
/// remove at the end. PostgreSQL refuses to run as root, so when the tests
/// run as root its commands run as the `postgres` user (runuser) in a
/// directory that user owns. Any failure to start is a setup error: the
/// PostgreSQL tests fail, they are never skipped.
final class PostgresServer {
    let root: String
    let dataDirectory: String
    let port: Int
    private let binDirectory: String
    private let runAs: String?

    /// Databases are created per test: `url(database:)`.
    func url(database: String) -> String { "postgres://postgres@127.0.0.1:\(port)/\(database)?sslmode=disable" }

    static func start() throws -> PostgresServer {
        let server = try PostgresServer()
        try server.initialize()
        try server.start()
        return server
    }

    private init() throws {
        binDirectory = try Self.findBinDirectory()
        root = try makeTemporaryDirectory("kn-pg")
        dataDirectory = root + "/data"
        port = try freeTCPPort()
        if geteuid() == 0 {
            runAs = "postgres"
            guard let user = getpwnam("postgres") else {
                throw SetupError("running as root but there is no 'postgres' user to run PostgreSQL as (apt-get install postgresql)")
            }
            guard chown(root, user.pointee.pw_uid, user.pointee.pw_gid) == 0 else {
                throw SetupError("chown \(root) to postgres: \(String(cString: strerror(errno)))")
            }
        } else {
            runAs = nil
        }
    }

    /// /usr/lib/postgresql/<newest>/bin, where Debian puts initdb and pg_ctl.
    static func findBinDirectory() throws -> String {
        let base = "/usr/lib/postgresql"
        let versions = ((try? FileManager.default.contentsOfDirectory(atPath: base)) ?? [])
            .compactMap(Int.init).sorted(by: >)
        for version in versions where FileManager.default.isExecutableFile(atPath: "\(base)/\(version)/bin/initdb") {
            return "\(base)/\(version)/bin"
        }
        throw SetupError("PostgreSQL server binaries not found under \(base)/*/bin (apt-get install postgresql; .ci/run does)")
    }

    private func initialize() throws {
        try run("initdb", ["-D", dataDirectory, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync"], timeout: 120)
    }

    /// Starts (or restarts) the server on the same port and data.
    func start() throws {
        // fsync off: these servers hold test data only; the kernel's own
        // durability is what the tests check.
        let options = "-p \(port) -k \(root) -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
        try run("pg_ctl", ["-D", dataDirectory, "-l", root + "/server.log", "-o", options, "-w", "-t", "60", "start"], timeout: 90)
    }

    /// `immediate`: the server goes away at once, as on a crash.
    func stop(mode: String = "fast") throws {
        try run("pg_ctl", ["-D", dataDirectory, "-m", mode, "-w", "-t", "60", "stop"], timeout: 90)
    }

    func createDatabase(_ name: String) throws {
        try run("psql", ["-h", "127.0.0.1", "-p", String(port), "-U", "postgres", "-d", "postgres", "-v", "ON_ERROR_STOP=1",
                         "-c", "CREATE DATABASE \(name)"], timeout: 60)
    }

    /// Runs SQL as the superuser `postgres`, in `database`.
    func execute(_ sql: String, database: String = "postgres") throws {
        try run("psql", ["-h", "127.0.0.1", "-p", String(port), "-U", "postgres", "-d", database, "-v", "ON_ERROR_STOP=1",
                         "-c", sql], timeout: 60)
    }

    /// The URL of `database` for another role.
    func url(database: String, user: String) -> String {
        "postgres://\(user)@127.0.0.1:\(port)/\(database)?sslmode=disable"
    }

    func stopAndRemove() {
        try? stop()
        try? FileManager.default.removeItem(atPath: root)
    }

    var serverLog: String { (try? String(contentsOfFile: root + "/server.log", encoding: .utf8)) ?? "" }

    private func run(_ tool: String, _ arguments: [String], timeout: TimeInterval) throws {
        let executable = binDirectory + "/" + tool
        let (program, full) = runAs.map { ("/usr/sbin/runuser", ["-u", $0, "--", executable] + arguments) } ?? (executable, arguments)
        let output = root + "/\(tool).out"
        let result = try spawnAndWait(program, full, output: output, timeout: timeout)
        guard result == 0 else {
            let text = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
            throw SetupError("\(tool) \(arguments.joined(separator: " ")) failed (\(result.map { "status \($0)" } ?? "timed out")):\n\(text)\n\(serverLog.suffix(2000))")
        }
    }
}

/// Runs a program with stdout and stderr to `output` and waits for its
/// exit. Not Foundation's Process: pg_ctl leaves the server running with
/// the descriptors it inherited, and Process then never reports the exit.
/// Returns the exit status, nil on timeout (the program is killed).
func spawnAndWait(_ program: String, _ arguments: [String], output: String, timeout: TimeInterval) throws -> Int32? {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_TRUNC, 0o666)
    posix_spawn_file_actions_adddup2(&actions, 1, 2)
    let argv = ([program] + arguments).map { strdup($0) } + [nil]
    defer { argv.forEach { free($0) } }
    var pid: pid_t = 0
    let spawned = posix_spawn(&pid, program, &actions, nil, argv, environ)
    guard spawned == 0 else { throw SetupError("cannot run \(program): \(String(cString: strerror(spawned)))") }
    var status: Int32 = 0
    let exited = waitUntil(timeout: timeout, interval: 0.02) { waitpid(pid, &status, WNOHANG) == pid }
    guard exited else {
        kill(pid, SIGKILL)
        waitpid(pid, &status, 0)
        return nil
    }
    // WIFEXITED / WEXITSTATUS by hand: the macros are not imported.
    return (status & 0x7f) == 0 ? (status >> 8) & 0xff : -1
}

/// A port free on 127.0.0.1 at the time of the call.
func freeTCPPort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw SetupError("socket: \(String(cString: strerror(errno)))") }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    let bound = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard bound == 0 else { throw SetupError("bind: \(String(cString: strerror(errno)))") }
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    return Int(UInt16(bigEndian: address.sin_port))
}
