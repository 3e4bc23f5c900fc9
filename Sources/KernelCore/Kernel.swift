import CKernelABI
import Dispatch
import Glibc
import Logging
import PluginSignatures
import Synchronization

/// The kernel: owns the registry, the plugins and the services plugins use
/// (events, jobs, listeners), and runs every load, unload and reload on one
/// control queue, one at a time.
public final class Kernel: @unchecked Sendable {
    public struct Options: Sendable {
        public var pluginsDirectory: String
        public var dataDirectory: String
        public var socketPath: String
        public var configuration: Configuration
        /// `--insecure-plugins-dir`: load plugins that other users could have written.
        public var allowsInsecurePlugins = false
        /// `--trust FILE`: load only plugins whose digest it pins or whose `.sig` one of its keys made.
        public var trust: TrustFile?
        /// Set in a worker started by the supervisor: listening sockets and the admin socket come from it.
        public var supervisor: SupervisorLink?

        public init(pluginsDirectory: String, dataDirectory: String, socketPath: String, configuration: Configuration) {
            self.pluginsDirectory = pluginsDirectory
            self.dataDirectory = dataDirectory
            self.socketPath = socketPath
            self.configuration = configuration
        }
    }

    public let options: Options
    public let logger: Logger
    let registry: Registry
    /// Calls in flight: deadlines, what an unload leaves behind, blocked threads.
    let watch: CallWatch
    let listeners: ListenerPool
    /// Crashes attributed to plugins, and their quarantine (`[kernel] quarantine_after`, `quarantine_window_s`).
    let crashLedger: CrashLedger
    let events: EventBus
    private(set) var jobs: JobRunner!
    let startedAt = currentMilliseconds()

    /// Every lifecycle change runs here. State below is touched only on it.
    let control = DispatchQueue(label: "kernel.control")
    private(set) var plugins: [String: PluginInstance] = [:]
    /// Plugin names in load order; shutdown stops them in reverse.
    private(set) var loadOrder: [String] = []
    // Written here and by the directory handling (Kernel+Directory.swift), on the control queue.
    var rejected: [String: (reason: String, at: Int64)] = [:]
    /// Plugins left out because they crashed the kernel too often, by name.
    var quarantined: [String: (path: String, quarantine: CrashLedger.Quarantine)] = [:]
    /// Files refused only because a plugin they require was missing: retried
    /// after every successful load.
    var waitingForDependency: Set<String> = []
    /// Files whose init or start failed as `unavailable` (a database not up
    /// yet, say): tried again after this delay, doubling up to 30 s.
    var retryDelays: [String: Int] = [:]
    var retryAttempts: [String: Int] = [:]
    /// Each attempt maps a new copy of the image for good (Swift images are
    /// never unmapped), so attempts are bounded: about 20 minutes' worth.
    static let maximumRetries = 40
    /// Instances that were stopped: kept so a plugin thread still holding its
    /// `kn_plugin *` never touches freed memory.
    private var retired: [PluginInstance] = []
    private var generation = 0

    private let loader: PluginLoader
    let runtime = Mutex<(watcher: DirectoryWatcher, admin: AdminServer)?>(nil)
    private let sequence = Atomic<UInt64>(0)
    private let requestCounter = Atomic<UInt64>(0)
    private let requestPrefix = String(UInt32.random(in: 0x1000_0000...UInt32.max), radix: 16)
    var drainTimeoutMilliseconds: Int { options.configuration.integer("kernel", "drain_timeout_ms", default: 10_000) }
    /// `[kernel] expose_internal_errors = true`: clients read internal
    /// messages (development); by default they read "internal error".
    let exposesInternalErrors: Bool

    public init(options: Options, logger: Logger = Logger(label: "kernel")) throws(KernelError) {
        self.options = options
        self.logger = logger
        exposesInternalErrors = options.configuration.section("kernel")["expose_internal_errors"] == "true"
        let images = options.dataDirectory + "/images"
        do {
            try FileIO.makeDirectory(options.pluginsDirectory)
            try FileIO.makeDirectory(images)
        } catch {
            throw KernelError(KN_ERR_INVALID_ARGUMENT, "cannot create directories: \(error)")
        }
        self.loader = PluginLoader(imagesDirectory: images, host: UnsafePointer(HostAPI.table),
                                   checksTrust: !options.allowsInsecurePlugins, trust: options.trust)
        self.registry = Registry(limits: try CallLimits(options.configuration))
        let logger = logger
        self.watch = CallWatch { message in logger.warning("\(message)") }
        self.listeners = ListenerPool(broker: options.supervisor)
        var ledger = CrashLedger(path: options.dataDirectory + "/crashes")
        ledger.threshold = options.configuration.integer("kernel", "quarantine_after", default: 3)
        ledger.windowMilliseconds = Int64(options.configuration.integer("kernel", "quarantine_window_s", default: 600)) * 1_000
        self.crashLedger = ledger
        self.events = EventBus(registry: registry)
        registry.whenSchedulesChange { [events] in
            _ = events.publish(topic: "kernel.schedules.changed", payload: Array("{}".utf8), publisher: "kernel")
        }
        self.jobs = JobRunner(kernel: self)
    }

    /// Removes image copies of an earlier run. Only once this process holds
    /// the admin socket: another kernel on the same data directory uses them.
    func removeStaleImages() {
        PluginFiles.removeAll(in: options.dataDirectory + "/images")
    }

    func nextSequence() -> UInt64 { sequence.add(1, ordering: .relaxed).newValue }

    func nextRequestID() -> String {
        "\(requestPrefix)-\(String(requestCounter.add(1, ordering: .relaxed).newValue, radix: 16))"
    }

    // MARK: Lifecycle (control queue)

    /// Loads every `*.so` of the plugins directory, in dependency order.
    func loadDirectory() {
        var images: [PluginImage] = []
        for path in PluginFiles.list(in: options.pluginsDirectory) {
            do throws(RejectionError) {
                images.append(try open(path))
            } catch {
                recordRejection(error)
            }
        }
        var pending = images
        while !pending.isEmpty {
            guard let index = pending.firstIndex(where: { image in
                image.dependsOn.allSatisfy { plugins[$0] != nil } || plugins[image.name] != nil
            }) else { break }
            let image = pending.remove(at: index)
            do throws(RejectionError) {
                _ = try activate(image)
            } catch {
                recordRejection(error)
            }
        }
        for image in pending {
            let missing = image.dependsOn.filter { plugins[$0] == nil }
            let known = Set(pending.map(\.name))
            let reason = missing.allSatisfy(known.contains)
                ? "dependency cycle among \(missing.joined(separator: ", "))"
                : "requires plugin '\(missing.first { !known.contains($0) } ?? "")', which is not loaded"
            waitingForDependency.insert(image.sourcePath)
            recordRejection(RejectionError(path: image.sourcePath, reason: reason))
        }
    }

    /// Loads one plugin file.
    @discardableResult
    func load(path: String) throws(RejectionError) -> PluginInstance {
        do throws(RejectionError) {
            let instance = try activate(try open(path))
            retryWaiting()
            return instance
        } catch {
            recordRejection(error)
            throw error
        }
    }

    /// Unloads a plugin: its registrations go at once, calls in flight drain,
    /// its stop hook runs, its listeners close.
    @discardableResult
    func unload(name: String, ignoringDependents: Bool = false) throws(KernelError) -> [String] {
        guard let instance = plugins[name] else { throw KernelError(KN_ERR_NOT_FOUND, "no plugin named '\(name)'") }
        let dependents = plugins.values.filter { $0.image.dependsOn.contains(name) }.map(\.name).sorted()
        guard ignoringDependents || dependents.isEmpty else {
            throw KernelError(KN_ERR_CONFLICT, "plugins \(dependents.joined(separator: ", ")) depend on '\(name)'",
                              details: ["dependents": dependents.joined(separator: ",")])
        }
        plugins[name] = nil
        loadOrder.removeAll { $0 == name }
        // While the job store stops, its running jobs may enqueue more: refused, not kept in memory and lost.
        let storesJobs = instance.registrations.services.contains { $0.name == KN_SCHEDULER_SERVICE }
        if storesJobs { jobs.setStoreStopping(true) }
        defer { if storesJobs { jobs.setStoreStopping(false) } }
        registry.remove(owner: instance)
        let leftBehind = retire(instance)
        listeners.close(plugin: name)
        logger.info("unloaded plugin \(name) (generation \(instance.generation))")
        _ = events.publish(topic: "kernel.plugin.unloaded", payload: Array("{\"name\":\"\(name)\"}".utf8), publisher: "kernel")
        return leftBehind
    }

    /// Replaces a running plugin with its file's current content (or `path`):
    /// the new version's registrations take over in one step, then the old
    /// version drains and stops. If the new one is refused, the old one keeps serving.
    @discardableResult
    func reload(name: String, path: String? = nil) throws(RejectionError) -> PluginInstance {
        guard let old = plugins[name] else { throw RejectionError(path: path ?? name, reason: "no plugin named '\(name)'") }
        let source = path ?? old.image.sourcePath
        do throws(RejectionError) {
            let image = try open(source)
            guard image.name == name else {
                throw RejectionError(path: source, reason: "reload of '\(name)' found a plugin named '\(image.name)'")
            }
            let instance = try activate(image, replacing: old)
            retire(old)
            listeners.close(plugin: name, keeping: instance.requestedListeners)
            logger.info("reloaded plugin \(name) \(old.image.version) -> \(image.version) (generation \(instance.generation))")
            _ = events.publish(topic: "kernel.plugin.reloaded", payload: Array("{\"name\":\"\(name)\"}".utf8), publisher: "kernel")
            return instance
        } catch {
            recordRejection(error)
            throw error
        }
    }

    /// Stops the transports first (no new calls come in while the rest
    /// drain), then every other plugin in reverse load order; closes the listeners.
    public func stopAll() {
        let transports = Set(registry.allTransports.map(\.owner.name) + listeners.all.map(\.plugin))
        let order = loadOrder.reversed()
        for name in order.filter(transports.contains) + order.filter({ !transports.contains($0) }) {
            try? unload(name: name, ignoringDependents: true)
        }
        listeners.closeAll()
    }

    // MARK: Steps

    private func open(_ path: String) throws(RejectionError) -> PluginImage {
        generation += 1
        // A crash while its image was opening is recorded under the file's name: checked before opening it again.
        if let quarantine = crashLedger.quarantine(of: PluginFiles.baseName(path)) {
            quarantined[PluginFiles.baseName(path)] = (path, quarantine)
            throw RejectionError(path: path, reason: Self.describe(quarantine))
        }
        let image = try loader.open(path, generation: generation)
        if let quarantine = crashLedger.quarantine(of: image.name, aliases: [PluginFiles.baseName(path)]) {
            quarantined[image.name] = (path, quarantine)
            throw RejectionError(path: path, reason: Self.describe(quarantine))
        }
        quarantined[image.name] = nil
        return image
    }

    /// init, commit, start: the new instance becomes live, replacing `old`.
    func activate(_ image: PluginImage, replacing old: PluginInstance? = nil) throws(RejectionError) -> PluginInstance {
        func reject(_ reason: String) -> RejectionError { RejectionError(path: image.sourcePath, reason: reason) }
        if old == nil, let existing = plugins[image.name] {
            throw reject("a plugin named '\(image.name)' is already loaded from \(existing.image.sourcePath)")
        }
        if let missing = image.dependsOn.first(where: { plugins[$0] == nil }) {
            waitingForDependency.insert(image.sourcePath)
            throw reject("requires plugin '\(missing)', which is not loaded")
        }
        let instance = PluginInstance(
            image: image, generation: image.generation, kernel: self,
            config: options.configuration.section(image.name),
            dataDirectory: "\(options.dataDirectory)/plugins/\(image.name)")
        instance.replacing = old
        let status = image.descriptor.`init`(instance.handle)
        guard status == KN_OK else {
            instance.registrations.releaseUserData()
            retired.append(instance)
            if old == nil && status == KN_ERR_UNAVAILABLE { scheduleRetry(image.sourcePath) }
            throw reject("init failed (\(Status.name(status))): \(instance.lastError ?? "no reason given")"
                         + (old == nil && status == KN_ERR_UNAVAILABLE ? "; tried again in \(retryDelays[image.sourcePath] ?? 0) ms" : ""))
        }
        registry.commit(instance.registrations, owner: instance, replacing: old)
        instance.state = .running
        plugins[image.name] = instance
        if old == nil { loadOrder.append(image.name) }

        if let start = image.descriptor.start {
            let status = start(instance.handle)
            if status != KN_OK {
                if let old {
                    registry.commit(old.registrations, owner: old, replacing: instance)
                    plugins[image.name] = old
                } else {
                    registry.remove(owner: instance)
                    plugins[image.name] = nil
                    loadOrder.removeAll { $0 == image.name }
                }
                retire(instance)
                if old == nil { listeners.close(plugin: image.name) }
                else { listeners.close(plugin: image.name, keeping: old!.requestedListeners) }
                if old == nil && status == KN_ERR_UNAVAILABLE { scheduleRetry(image.sourcePath) }
                throw reject("start failed (\(Status.name(status))): \(instance.lastError ?? "no reason given")")
            }
        }
        instance.replacing = nil
        rejected[image.sourcePath] = nil
        waitingForDependency.remove(image.sourcePath)
        retryDelays[image.sourcePath] = nil
        retryAttempts[image.sourcePath] = nil
        let elapsed = Double(monotonicMicroseconds() - image.openStarted) / 1000
        logger.info("loaded plugin \(image.name) \(image.version) from \(image.sourcePath) (generation \(instance.generation)) in \(elapsed) ms")
        if old == nil {
            _ = events.publish(topic: "kernel.plugin.loaded", payload: Array("{\"name\":\"\(image.name)\"}".utf8), publisher: "kernel")
        }
        return instance
    }

    /// Drains, stops and forgets an instance that is no longer in the registry.
    /// Calls still running at the drain timeout are answered `unavailable`
    /// and their handlers cancelled; returns what they were.
    @discardableResult
    func retire(_ instance: PluginInstance) -> [String] {
        instance.state = .draining
        let drained = instance.drain(timeoutMilliseconds: drainTimeoutMilliseconds)
        var leftBehind: [String] = []
        if !drained {
            let stillRunning = instance.callsInFlight
            leftBehind = watch.abandon(heldBy: instance)
            let calls = leftBehind.isEmpty ? "none the kernel dispatched" : leftBehind.joined(separator: ", ")
            logger.warning("plugin \(instance.name): \(stillRunning) calls still in flight after \(drainTimeoutMilliseconds) ms; stopping anyway. Left behind (answered unavailable, cancelled): \(calls)")
        }
        instance.image.descriptor.stop?(instance.handle)
        instance.state = .stopped
        // A call still running may use user_data: leak it rather than free it under the call.
        if drained {
            instance.registrations.releaseUserData()
            if instance.image.isUnloadSafe { dlclose(instance.image.handle) }
        }
        retired.append(instance)
        return leftBehind
    }

    // MARK: Plugin logging

    func pluginLog(_ instance: PluginInstance, level: Int32, _ message: String) {
        let logLevel: Logger.Level = switch level {
        case ...Int32(KN_LOG_TRACE): .trace
        case Int32(KN_LOG_DEBUG): .debug
        case Int32(KN_LOG_INFO): .info
        case Int32(KN_LOG_WARN): .warning
        default: .error
        }
        logger.log(level: logLevel, "[\(instance.name)] \(message)")
    }

    /// `call_log`: a line about one call, tagged with its request id and endpoint.
    func callLog(_ instance: PluginInstance, _ call: Call, level: Int32, _ message: String) {
        // Read, never made here: call_log may come from any thread, and making the id writes the call's metadata.
        let id = call.existingMeta("request.id")?.string ?? "-"
        let endpoint = call.endpointCString.map { String(cString: $0) } ?? ""
        pluginLog(instance, level: level, "request_id=\(id) endpoint=\(endpoint) \(message)")
    }
}
