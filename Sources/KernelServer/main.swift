import ArgumentParser
import Dispatch
import Foundation
import KernelCore
import PluginSignatures
import Logging

/// `kernel`: loads the plugins of a directory and serves until SIGTERM/SIGINT.
/// By default a supervisor process holds the sockets and runs the kernel in
/// a worker process (this executable again), started anew if a plugin crashes it.
struct KernelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kernel",
        abstract: "Run the plugin-hosting microkernel.",
        discussion: """
            Loads every lib*.so of the plugins directory in dependency order, watches it \
            (a file written is loaded, replaced is reloaded, removed is unloaded) and serves \
            the admin socket that kernelctl talks to.
            """)

    @Option(help: "Directory of plugin .so files, watched for changes.")
    var plugins = "./plugins"

    @Option(help: "Data directory (plugin images, plugin data, the admin socket by default).")
    var data = "./data"

    @Option(help: "Admin socket path (default: <data>/kernel.sock).")
    var socket: String?

    @Option(help: "Configuration file (INI: one [section] per plugin, plus [kernel]).")
    var config: String?

    @Option(name: .customLong("set"), help: "Override a setting: <plugin>.<key>=<value>. Repeatable.")
    var overrides: [String] = []

    @Option(help: "Trust file: load only plugins whose SHA-256 it pins or whose .sig one of its Ed25519 keys made.")
    var trust: String?

    @Flag(name: .customLong("insecure-plugins-dir"),
          help: "Load plugins from a directory or files that other users can write (refused by default).")
    var insecurePluginsDir = false

    @Flag(name: .customLong("no-supervisor"),
          help: "Run the plugins in this process, for debugging: a plugin that crashes takes the kernel down.")
    var noSupervisor = false

    @Option(help: "Log level: trace, debug, info, warning, error.")
    var logLevel = "info"

    func run() throws {
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "kernel")

        var configuration = Configuration()
        do {
            if let config {
                configuration = try Configuration(parsing: try String(contentsOfFile: config, encoding: .utf8))
            }
            for assignment in overrides { try configuration.set(assignment) }
        } catch {
            throw ValidationError("\(error)")
        }
        let pluginsDirectory = absolute(plugins)
        let dataDirectory = absolute(data)
        var options = Kernel.Options(
            pluginsDirectory: pluginsDirectory, dataDirectory: dataDirectory,
            socketPath: socket.map(absolute) ?? "\(dataDirectory)/kernel.sock", configuration: configuration)
        options.allowsInsecurePlugins = insecurePluginsDir
        if let path = trust ?? configuration.section("kernel")["trust_file"] {
            do {
                options.trust = try TrustFile(contentsOfFile: absolute(path))
            } catch {
                throw ValidationError("\(error)")
            }
        }

        let link = SupervisorLink.fromEnvironment()
        if link == nil && !noSupervisor {
            // This process only supervises: the kernel proper runs in a worker, this executable again.
            let supervisor = Supervisor(
                options: .init(socketPath: options.socketPath, dataDirectory: dataDirectory,
                               arguments: Array(CommandLine.arguments.dropFirst())),
                logger: Logger(label: "kernel.supervisor"))
            throw ExitCode(supervisor.run())
        }
        options.supervisor = link
        if link != nil { signal(SIGHUP, SIG_IGN) } // the supervisor's signal: it replaces this worker

        // Signals are caught before plugins start: a SIGTERM during a slow
        // start still drains and stops them once the start is done.
        let termination = TerminationSignal()
        let kernel: Kernel
        do {
            kernel = try Kernel(options: options, logger: logger)
            // Alone, the Swift runtime's detailed backtrace follows the record: no restart waits for it.
            try CrashGuard.install(ledger: dataDirectory + "/crashes", chaining: link == nil)
            try kernel.start()
        } catch {
            logger.critical("cannot start: \(error)")
            throw ExitCode(1)
        }
        termination.wait()
        kernel.shutdown()
        throw ExitCode.success
    }

    private func absolute(_ path: String) -> String {
        if path.hasPrefix("/") { return path }
        let relative = path.hasPrefix("./") ? String(path.dropFirst(2)) : path
        return FileManager.default.currentDirectoryPath + "/" + relative
    }
}

/// SIGTERM and SIGINT, caught from creation on; `wait` blocks until one came.
final class TerminationSignal {
    private let received = DispatchSemaphore(value: 0)
    private let sources: [any DispatchSourceSignal]

    init() {
        signal(SIGTERM, SIG_IGN)
        signal(SIGINT, SIG_IGN)
        signal(SIGPIPE, SIG_IGN)
        let received = received
        sources = [SIGTERM, SIGINT].map { number in
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { received.signal() }
            source.resume()
            return source
        }
    }

    func wait() {
        received.wait()
        sources.forEach { $0.cancel() }
    }
}

KernelCommand.main()
