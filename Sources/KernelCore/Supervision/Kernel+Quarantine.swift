import Foundation

/// Quarantine as the kernel applies it: a plugin that crashed the worker too
/// often is refused at load, listed with the reason, and loaded again once
/// an operator releases it.
extension Kernel {
    static func describe(_ quarantine: CrashLedger.Quarantine) -> String {
        let when = Date(timeIntervalSince1970: Double(quarantine.last.atMilliseconds) / 1000).formatted(.iso8601)
        return "quarantined: crashed the kernel \(quarantine.crashes) times (last: \(quarantine.last.signal) at "
            + "\(quarantine.last.location), \(when)); 'kernelctl release \(quarantine.plugin)' loads it again"
    }

    /// The `list` entries of quarantined plugins (control queue).
    func quarantineReport() -> [[String: Any]] {
        quarantined.sorted { $0.key < $1.key }.map { name, entry in
            [
                "name": name, "path": entry.path, "crashes": entry.quarantine.crashes,
                "last_signal": entry.quarantine.last.signal, "last_location": entry.quarantine.last.location,
                "last_crash_ms": Int(entry.quarantine.last.atMilliseconds), "reason": Self.describe(entry.quarantine),
            ]
        }
    }

    /// `kernelctl release NAME` (control queue): crashes so far no longer
    /// count, and a quarantined plugin's file is loaded again.
    func release(name: String) -> Result<Any, KernelError> {
        guard isValidPluginName(name) || (PluginFiles.isPluginFileName(name) && !name.contains("/")) else { return .failure(KernelError(KN_ERR_INVALID_ARGUMENT, "invalid plugin name '\(name)'")) }
        let entry = quarantined[name]
        guard entry != nil || !crashLedger.crashes(of: name).isEmpty else {
            return .failure(KernelError(KN_ERR_NOT_FOUND, "plugin '\(name)' is not quarantined and has no crashes recorded"))
        }
        do throws(KernelError) {
            try crashLedger.release(name)
            if let path = entry.map(\.path) { try crashLedger.release(PluginFiles.baseName(path)) }
        } catch {
            return .failure(error)
        }
        quarantined[name] = nil
        var result: [String: Any] = ["released": name]
        if let path = entry?.path, plugins[name] == nil, FileIO.exists(path) {
            do throws(RejectionError) {
                let instance = try load(path: path)
                result["loaded"] = summary(instance)
            } catch {
                result["rejected"] = error.reason
            }
        }
        logger.info("plugin \(name) released from quarantine")
        return .success(result)
    }
}
