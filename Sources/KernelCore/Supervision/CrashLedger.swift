import Glibc

/// The record of worker crashes and quarantine releases: `<data>/crashes`,
/// one line per event, appended by the fatal-signal handler (`kn_guard_install`)
/// and by `kernelctl release`:
///
///     crash 1764670000123 SIGSEGV crashy 0x7f3a12345678 crashy+0x1139
///     release 1764670100000 crashy
///
/// A plugin is quarantined when `threshold` of its crashes since its last
/// release fall within `window` milliseconds of each other; it stays so until released.
public struct CrashLedger: Sendable {
    public struct Crash: Sendable, Equatable {
        public let atMilliseconds: Int64
        public let signal: String
        public let plugin: String
        public let location: String
    }

    public struct Quarantine: Sendable {
        public let plugin: String
        /// Crashes since the last release.
        public let crashes: Int
        public let last: Crash
    }

    public let path: String
    public var threshold = 3
    public var windowMilliseconds: Int64 = 10 * 60_000

    public init(path: String) { self.path = path }

    /// Every crash, oldest first, and the last release time per plugin.
    public func read() -> (crashes: [Crash], releases: [String: Int64]) {
        guard case .success(let bytes) = FileIO.read(path) else { return ([], [:]) }
        var crashes: [Crash] = []
        var releases: [String: Int64] = [:]
        for line in bytes.split(separator: 0x0A) {
            let fields = line.split(separator: 0x20).map { String(decoding: $0, as: UTF8.self) }
            guard fields.count >= 3, let at = Int64(fields[1]) else { continue }
            switch fields[0] {
            case "crash" where fields.count >= 6:
                crashes.append(Crash(atMilliseconds: at, signal: fields[2], plugin: fields[3], location: fields[5]))
            case "release":
                releases[fields[2]] = max(releases[fields[2]] ?? 0, at)
            default:
                continue
            }
        }
        return (crashes, releases)
    }

    /// The crashes since `plugin`'s last release, oldest first. `aliases`
    /// (the file's name) count too: a crash while the image was opening
    /// is recorded before the plugin has told its name.
    public func crashes(of plugin: String, aliases: [String] = []) -> [Crash] {
        let (crashes, releases) = read()
        let names = Set([plugin] + aliases)
        let since = names.compactMap { releases[$0] }.max() ?? 0
        return crashes.filter { names.contains($0.plugin) && $0.atMilliseconds > since }
    }

    /// Whether `plugin` is quarantined, and why.
    public func quarantine(of plugin: String, aliases: [String] = []) -> Quarantine? {
        let crashes = crashes(of: plugin, aliases: aliases)
        guard threshold > 0, crashes.count >= threshold, let last = crashes.last else { return nil }
        let times = crashes.map(\.atMilliseconds)
        for start in 0...(times.count - threshold) where times[start + threshold - 1] - times[start] <= windowMilliseconds {
            return Quarantine(plugin: plugin, crashes: crashes.count, last: last)
        }
        return nil
    }

    /// Lifts `plugin`'s quarantine: crashes before now no longer count.
    public func release(_ plugin: String) throws(KernelError) {
        let line = "release \(currentMilliseconds()) \(plugin)\n"
        let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw KernelError(KN_ERR_INTERNAL, "cannot open \(path): \(errnoText())") }
        defer { close(fd) }
        let written = line.utf8CString.withUnsafeBufferPointer { write(fd, $0.baseAddress, $0.count - 1) }
        guard written == line.utf8.count else { throw KernelError(KN_ERR_INTERNAL, "cannot write \(path): \(errnoText())") }
    }

    /// The last crash recorded after `milliseconds` (the supervisor's account of a worker's death).
    public func lastCrash(after milliseconds: Int64) -> Crash? {
        read().crashes.last { $0.atMilliseconds >= milliseconds }
    }
}
