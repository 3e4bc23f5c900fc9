@_exported import CKernelABI
import Dispatch
import Glibc
import Synchronization

/// Starting and stopping a kernel process: plugins, directory watcher and
/// admin socket, in that order; the reverse on shutdown.
extension Kernel {
    /// Loads the plugins directory, then starts watching it and serving the
    /// admin socket. Returns once the kernel is serving.
    public func start() throws(KernelError) {
        let started = currentMilliseconds()
        if !options.allowsInsecurePlugins, let problem = PluginTrust.problem(options.pluginsDirectory, what: "plugins directory") {
            throw KernelError(KN_ERR_FORBIDDEN, "refusing to load plugins: \(problem)")
        }
        // The admin socket first: it is also the lock that keeps a second
        // kernel off the same data directory before it touches anything.
        let admin = AdminServer(path: options.socketPath, adopting: options.supervisor?.adminFD, refused: { [unowned self] reason in logger.warning("\(reason)") }) {
            [unowned self] request in handleAdmin(request)
        }
        try admin.start()
        removeStaleImages()
        // The watch starts before the scan: a file dropped during the scan is
        // reported after it, and the kernel skips what it has already loaded.
        let watcher = DirectoryWatcher(directory: options.pluginsDirectory, queue: control) { [unowned self] change in
            switch change {
            case .file(let path): pluginFileChanged(path)
            case .rescan(let reason): rescanDirectory(because: reason)
            }
        }
        do {
            try watcher.start()
        } catch {
            admin.stop()
            throw error
        }
        watch.start(blockedAfter: Int64(options.configuration.integer("kernel", "blocked_thread_ms", default: 500)))
        control.sync { loadDirectory() }
        runtime.withLock { $0 = (watcher, admin) }
        _ = events.publish(topic: "kernel.started", payload: Array("{}".utf8), publisher: "kernel")
        logger.info("kernel ready in \(currentMilliseconds() - started) ms: \(plugins.count) plugins, admin socket \(options.socketPath)")
        options.supervisor?.ready()
    }

    /// Stops accepting admin requests and directory changes, then drains and
    /// stops every plugin in reverse load order.
    public func shutdown() {
        let parts = runtime.withLock { parts in
            defer { parts = nil }
            return parts
        }
        parts?.watcher.stop()
        parts?.admin.stop()
        listeners.detachFromSupervisor()
        // Handlers hear it before the drain, while calls are still served.
        _ = events.publish(topic: "kernel.stopping", payload: Array("{}".utf8), publisher: "kernel")
        if !events.flush(milliseconds: 5_000) { logger.warning("kernel.stopping: event handlers still busy after 5 s") }
        control.sync { stopAll() }
        watch.stop()
        logger.info("kernel stopped")
    }
}

/// Embedding: what a host program (the benchmark harness, a test) needs to
/// start calls the way a transport plugin does.
extension Kernel {
    /// The host API table every plugin receives.
    public static var hostTable: UnsafePointer<kn_host_api> { UnsafePointer(HostAPI.table) }

    /// The `kn_plugin *` of a loaded plugin, to pass as `self` to the table.
    public func handle(ofPlugin name: String) -> OpaquePointer? {
        control.sync { plugins[name]?.handle }
    }
}
