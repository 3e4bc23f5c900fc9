import Foundation
import Glibc
import XCTest

/// The scheduler suite, run against each storage backend by
/// SQLiteSchedulerTests and PostgresSchedulerTests. Jobs are enqueued
/// through the SDK (HTTP → the jobprobe fixture → `kernel.enqueue` → the
/// scheduler's service table), looked at with `kernelctl jobs|queues|schedules`,
/// and every run of `probe.record` is a line of the probe's runs.log:
///
///     start|done <job id> <attempt> <epoch ms> <job.schedule or -> <job.fire_at or -> <tag or ->
class SchedulerTestCase: StorageTestCase {
    static let schedulerPlugins = ["libhttp.so", "libstorage.so", "libscheduler.so", "libjobprobe.so"]
    /// Quick retries and polls, and three queues: default (10 at once), slow (2), limited (5 starts per second).
    static let schedulerDefaults = [
        "scheduler.backoff_base_ms=100", "scheduler.poll_interval_ms=100",
        "scheduler.queues=default:10,slow:2,limited:10", "scheduler.queue.limited.rate=5",
    ]

    /// Every setting of a scheduler kernel: the backend (a new database on
    /// PostgreSQL), the suite's defaults, then `extra`. Keep it to start a
    /// second kernel on the same data.
    func schedulerSettings(_ extra: [String] = [], file: StaticString = #filePath, line: UInt = #line) throws -> [String] {
        do {
            return try backendSettings() + Self.schedulerDefaults + extra
        } catch {
            XCTFail("PostgreSQL could not be started: \(error)", file: file, line: line)
            throw error
        }
    }

    func startScheduler(_ settings: [String], file: StaticString = #filePath, line: UInt = #line) throws -> KernelProcess {
        try startKernel(plugins: Self.schedulerPlugins, settings: settings, file: file, line: line)
    }

    func startScheduler(extra: [String] = [], file: StaticString = #filePath, line: UInt = #line) throws -> KernelProcess {
        try startScheduler(try schedulerSettings(extra, file: file, line: line), file: file, line: line)
    }

    /// Stops `first` (SIGTERM, or SIGKILL with `kill`) and starts a kernel
    /// on its data: a copy of the storage plugin's files (SQLite), or the
    /// same database (PostgreSQL, in `settings`).
    func restartScheduler(_ first: KernelProcess, settings: [String], kill: Bool = false) throws -> KernelProcess {
        if kill {
            Glibc.kill(first.pid, SIGKILL)
            XCTAssertTrue(waitUntil(timeout: 10) { !first.isRunning }, "the kernel survived SIGKILL")
        } else {
            first.stop()
        }
        let second = try KernelProcess(plugins: Self.schedulerPlugins, settings: settings)
        addTeardownBlock { [weak self] in
            second.stop()
            if (self?.testRun?.totalFailureCount ?? 0) > 0 {
                print("""
                    ---- second kernel log (\(second.logPath)) ----
                    \(second.log())
                    ---- end of second kernel log; directory kept: \(second.root) ----
                    """)
            } else {
                second.removeDirectory()
            }
        }
        let files = first.dataDirectory + "/plugins/storage"
        if FileManager.default.fileExists(atPath: files) {
            try FileManager.default.createDirectory(atPath: second.dataDirectory + "/plugins", withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: files, toPath: second.dataDirectory + "/plugins/storage")
        }
        try second.start(waitingFor: ["http", "storage", "scheduler", "jobprobe"])
        return second
    }

    // MARK: Enqueue, look, wait

    /// `probe.enqueue` (asserted to succeed): the ids of the new jobs.
    @discardableResult
    func enqueue(_ kernel: KernelProcess, _ payload: [String: Any] = [:], _ options: [String: Any] = [:],
                 file: StaticString = #filePath, line: UInt = #line) throws -> [Int] {
        var body = options
        body["payload"] = payload
        let result = try ok(kernel, "probe.enqueue", body, file: file, line: line)
        return (result["ids"] as? [NSNumber] ?? []).map(\.intValue)
    }

    /// `kernelctl <arguments> --json`, asserted to succeed: its JSON object.
    @discardableResult
    func ctl(_ kernel: KernelProcess, _ arguments: [String], file: StaticString = #filePath, line: UInt = #line) throws -> [String: Any] {
        let result = try kernelctl(kernel, arguments + ["--json"])
        guard result.status == 0 else {
            XCTFail("kernelctl \(arguments.joined(separator: " ")) failed (\(result.status)): \(result.stderr)\(result.stdout)",
                    file: file, line: line)
            throw SetupError("kernelctl \(arguments) failed")
        }
        guard let object = (try? JSONSerialization.jsonObject(with: Data(result.stdout.utf8))) as? [String: Any] else {
            XCTFail("kernelctl \(arguments.joined(separator: " ")) --json printed no JSON object: \(result.stdout)", file: file, line: line)
            throw SetupError("kernelctl \(arguments): no JSON")
        }
        return object
    }

    /// `kernelctl <arguments>`, asserted to fail with error `code`: its stderr.
    @discardableResult
    func ctlFails(_ kernel: KernelProcess, _ arguments: [String], code: String,
                  file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let result = try kernelctl(kernel, arguments)
        XCTAssertEqual(result.status, 1, "kernelctl \(arguments.joined(separator: " ")): \(result.stdout)\(result.stderr)",
                       file: file, line: line)
        XCTAssertTrue(result.stderr.hasPrefix("kernelctl: \(code)"), "kernelctl \(arguments.joined(separator: " ")): \(result.stderr)",
                      file: file, line: line)
        return result.stderr
    }

    func job(_ kernel: KernelProcess, _ id: Int, file: StaticString = #filePath, line: UInt = #line) throws -> [String: Any] {
        try ctl(kernel, ["jobs", "show", String(id)], file: file, line: line)
    }

    func jobs(_ kernel: KernelProcess, _ filters: [String] = [], file: StaticString = #filePath, line: UInt = #line) throws -> [[String: Any]] {
        try ctl(kernel, ["jobs", "list", "--limit", "1000"] + filters, file: file, line: line)["jobs"] as? [[String: Any]] ?? []
    }

    /// Waits until job `id` is in one of `states`; returns it as `jobs show` has it.
    @discardableResult
    func waitForJob(_ kernel: KernelProcess, _ id: Int, _ states: Set<String>, timeout: TimeInterval = 10,
                    file: StaticString = #filePath, line: UInt = #line) throws -> [String: Any] {
        var last: [String: Any] = [:]
        let reached = try waitUntil(timeout: timeout, interval: 0.1) {
            last = try job(kernel, id, file: file, line: line)
            return states.contains(last["state"] as? String ?? "")
        }
        XCTAssertTrue(reached, "job \(id) not \(states.sorted()) within \(timeout) s: \(last)", file: file, line: line)
        return last
    }

    /// Jobs per state (`jobs stats`).
    func states(_ kernel: KernelProcess, file: StaticString = #filePath, line: UInt = #line) throws -> [String: Int] {
        let stats = try ctl(kernel, ["jobs", "stats"], file: file, line: line)
        return (stats["states"] as? [String: NSNumber] ?? [:]).mapValues(\.intValue)
    }

    func schedule(_ kernel: KernelProcess, _ name: String, file: StaticString = #filePath, line: UInt = #line) throws -> [String: Any]? {
        let list = try ctl(kernel, ["schedules", "list"], file: file, line: line)
        return (list["schedules"] as? [[String: Any]] ?? []).first { $0["name"] as? String == name }
    }

    func fires(_ kernel: KernelProcess, _ name: String, file: StaticString = #filePath, line: UInt = #line) throws -> [[String: Any]] {
        try ctl(kernel, ["schedules", "history", name, "--limit", "1000"], file: file, line: line)["fires"] as? [[String: Any]] ?? []
    }

    /// What the probe's event handlers saw (`job.#`, `schedule.#`): topic and decoded payload.
    func events(_ kernel: KernelProcess) throws -> [(topic: String, payload: [String: Any])] {
        let body = try ok(kernel, "probe.events")
        return (body["events"] as? [[String: Any]] ?? []).map { event in
            let text = event["payload"] as? String ?? "{}"
            return (event["topic"] as? String ?? "", (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:])
        }
    }

    func generation(_ kernel: KernelProcess, _ plugin: String) throws -> Int? {
        try kernel.adminResult("list").plugin(named: plugin)?["generation"] as? Int
    }
}

// MARK: runs.log

/// One line of the probe's runs.log.
struct ProbeRun: CustomStringConvertible {
    var event: String
    var id: Int
    var attempt: Int
    /// Epoch milliseconds.
    var at: Int64
    var schedule: String?
    var fireAt: String?
    var tag: String?

    var isStart: Bool { event == "start" }
    var isDone: Bool { event == "done" }
    var description: String { "\(event) \(id) #\(attempt) @\(at) \(schedule ?? "-") \(fireAt ?? "-") \(tag ?? "-")" }

    /// The runs `kernel`'s probe logged (complete lines only).
    static func all(_ kernel: KernelProcess) -> [ProbeRun] {
        guard let text = try? String(contentsOfFile: kernel.dataDirectory + "/plugins/jobprobe/runs.log", encoding: .utf8) else { return [] }
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        lines.removeLast() // the text after the last newline: empty, or a line being written
        return lines.compactMap { line in
            let fields = line.split(separator: " ").map(String.init)
            guard fields.count == 7, let id = Int(fields[1]), let attempt = Int(fields[2]), let at = Int64(fields[3]) else { return nil }
            func optional(_ value: String) -> String? { value == "-" ? nil : value }
            return ProbeRun(event: fields[0], id: id, attempt: attempt, at: at, schedule: optional(fields[4]),
                            fireAt: optional(fields[5]), tag: optional(fields[6]))
        }
    }

    /// The most runs in progress at one time: `start` to `done` (a start
    /// without its done runs to the end). At one instant, ends count first.
    static func maxOverlap(_ runs: [ProbeRun]) -> Int {
        var points: [(Int64, Int)] = []
        var open: [String: Int64] = [:]
        for run in runs.sorted(by: { $0.at < $1.at }) {
            let key = "\(run.id)/\(run.attempt)"
            if run.isStart {
                open[key] = run.at
                points.append((run.at, 1))
            } else if open.removeValue(forKey: key) != nil {
                points.append((run.at, -1))
            }
        }
        var current = 0
        var most = 0
        for (_, delta) in points.sorted(by: { $0.0 == $1.0 ? $0.1 < $1.1 : $0.0 < $1.0 }) {
            current += delta
            most = max(most, current)
        }
        return most
    }
}

func epochMilliseconds() -> Int64 { Int64((Date().timeIntervalSince1970 * 1000).rounded(.down)) }

/// An ISO-8601 time (with or without fractional seconds) as epoch milliseconds.
func epochMilliseconds(_ text: String?) -> Int64? {
    guard let text else { return nil }
    let formatter = ISO8601DateFormatter()
    formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
    if let date = formatter.date(from: text) { return Int64((date.timeIntervalSince1970 * 1000).rounded()) }
    formatter.formatOptions = [.withInternetDateTime]
    return formatter.date(from: text).map { Int64(($0.timeIntervalSince1970 * 1000).rounded()) }
}
