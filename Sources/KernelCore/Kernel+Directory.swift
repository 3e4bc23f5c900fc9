import CKernelABI
import Dispatch

/// The plugins directory and the kernel's own retries: files written,
/// replaced or removed, rescans when events cannot be trusted, plugins
/// waiting for a dependency, and plugins refused as unavailable tried again.
/// Control queue.
extension Kernel {
    /// A plugin that could not start because something it needs is not
    /// available yet is loaded again later, with backoff, as long as its
    /// file is there and nothing else loaded it meanwhile. Control queue.
    func scheduleRetry(_ path: String) {
        let attempts = (retryAttempts[path] ?? 0) + 1
        guard attempts <= Self.maximumRetries else {
            logger.error("giving up on \(path) after \(Self.maximumRetries) attempts; write the file again or use kernelctl load to retry")
            retryDelays[path] = nil
            retryAttempts[path] = nil
            return
        }
        retryAttempts[path] = attempts
        let delay = min(max(1_000, (retryDelays[path] ?? 500) * 2), 30_000)
        retryDelays[path] = delay
        control.asyncAfter(deadline: .now() + .milliseconds(delay)) { [weak self] in
            guard let self, self.retryDelays[path] != nil, FileIO.exists(path),
                  !self.plugins.values.contains(where: { $0.image.sourcePath == path }) else { return }
            self.logger.info("trying \(path) again: its last start was refused as unavailable")
            _ = try? self.load(path: path)
        }
    }

    func retryWaiting() {
        for path in waitingForDependency.sorted() where waitingForDependency.contains(path) && FileIO.exists(path) {
            waitingForDependency.remove(path)
            _ = try? load(path: path)
        }
    }

    func recordRejection(_ error: RejectionError) {
        rejected[error.path] = (error.reason, currentMilliseconds())
        logger.error("rejected plugin file \(error.path): \(error.reason)")
    }

    // MARK: Directory changes (control queue)

    /// A file of the plugins directory was written, replaced or removed.
    func pluginFileChanged(_ path: String) {
        let current = plugins.values.first { $0.image.sourcePath == path }
        if FileIO.exists(path) {
            if let current {
                // The version already loaded (reported again, or by the first scan): nothing to do.
                guard let stamp = PluginFiles.stamp(path), stamp != current.image.sourceStamp else { return }
                _ = try? reload(name: current.name, path: path)
            } else {
                _ = try? load(path: path)
            }
        } else {
            rejected[path] = nil
            waitingForDependency.remove(path)
            retryDelays[path] = nil
            if let current {
                do { try unload(name: current.name) } catch { logger.error("cannot unload \(current.name): \(error)") }
            }
        }
    }

    /// Reconciles the whole directory with what is loaded, when its events
    /// cannot be trusted (lost in an overflow, or the directory replaced):
    /// new files are loaded, changed ones reloaded, removed ones unloaded.
    func rescanDirectory(because reason: String) {
        guard FileIO.exists(options.pluginsDirectory) else {
            // A deploy between removing one directory and putting the next in place:
            // unloading everything now would take the service down for nothing.
            logger.warning("the plugins directory \(options.pluginsDirectory) is gone (\(reason)); loaded plugins stay, waiting for it to come back")
            return
        }
        logger.warning("rescanning the plugins directory \(options.pluginsDirectory): \(reason)")
        let prefix = options.pluginsDirectory + "/"
        let files = Set(PluginFiles.list(in: options.pluginsDirectory))
        // Dependents before what they depend on: reverse load order.
        let fromDirectory = loadOrder.reversed().compactMap { plugins[$0] }.filter { $0.image.sourcePath.hasPrefix(prefix) }
        var loaded = 0, reloaded = 0, unloaded = 0
        for instance in fromDirectory where !files.contains(instance.image.sourcePath) {
            pluginFileChanged(instance.image.sourcePath)
            if plugins[instance.name] == nil { unloaded += 1 }
        }
        for path in files.sorted() {
            let current = plugins.values.first { $0.image.sourcePath == path }
            if let current, PluginFiles.stamp(path) == current.image.sourceStamp { continue }
            pluginFileChanged(path)
            if current == nil { loaded += 1 } else { reloaded += 1 }
        }
        logger.info("rescan of \(options.pluginsDirectory): \(loaded) loaded, \(reloaded) reloaded, \(unloaded) unloaded")
    }
}
