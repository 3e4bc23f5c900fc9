import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Who claimed a job: host, process id, the process's start time (so a
/// reused pid is not taken for the old process) and this plugin instance.
enum ProcessIdentity {
    static let host = ProcessInfo.processInfo.hostName
    static let process = "\(host)/\(getpid())/\(startTicks(of: getpid()) ?? 0)"
    static let node = "\(process)/\(UUID().uuidString.prefix(8))"

    /// True when `owner` names a process of this host that no longer runs.
    /// Another instance of this process (a reload) releases its own jobs as
    /// it stops; another host's are not for this kernel to judge.
    static func isGone(_ owner: String) -> Bool {
        let parts = owner.split(separator: "/").map(String.init)
        guard parts.count >= 3, parts[0] == host, let pid = Int32(parts[1]), let ticks = UInt64(parts[2]) else { return false }
        if "\(parts[0])/\(parts[1])/\(parts[2])" == process { return false }
        return startTicks(of: pid) != ticks
    }

    /// Field 22 of /proc/<pid>/stat: when the process started, in clock ticks.
    static func startTicks(of pid: Int32) -> UInt64? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = text.lastIndex(of: ")") else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ")
        // After the command: state is field 3, so start time (22) is index 19.
        return fields.count > 19 ? UInt64(fields[19]) : nil
    }
}
