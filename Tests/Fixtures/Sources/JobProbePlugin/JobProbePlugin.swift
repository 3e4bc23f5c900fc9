import Foundation
import Glibc
import KernelSDK
import Synchronization

/// A test plugin for the scheduler: one job (`probe.record`) whose payload
/// says how it behaves (fail, sleep, snooze, discard) and that logs every
/// run to `<data>/runs.log`; endpoints to enqueue through the SDK; a memory
/// of the `job.#` and `schedule.#` events; and, when configured, a schedule
/// declared in code.
struct JobProbePlugin: Plugin {
    static let name = "jobprobe"
    static let version = "1.0.0"
    static let description = "Drives the scheduler through the SDK for the integration tests"

    func register(with kernel: PluginContext) async throws {
        let runs = RunLog(path: kernel.dataDirectory + "/runs.log")
        let snoozed = Mutex<Set<String>>([])
        let events = EventMemory()

        kernel.job("probe.record", maxAttempts: UInt32(kernel.config("max_attempts", default: 3))) {
            (payload: ProbePayload, job) async throws in
            let id = job.meta("job.id") ?? "?"
            let attempt = Int(job.meta("job.attempt") ?? "") ?? 0
            let fields = "\(job.meta("job.schedule") ?? "-") \(job.meta("job.fire_at") ?? "-") \(payload.tag ?? "-")"
            runs.append("start \(id) \(attempt) \(RunLog.now()) \(fields)")
            if let milliseconds = payload.snooze_ms, snoozed.withLock({ $0.insert(id).inserted }) {
                throw JobSnooze(.milliseconds(milliseconds))
            }
            if payload.discard == true { throw JobDiscard("told to") }
            if let milliseconds = payload.sleep_ms, milliseconds > 0 {
                try await Task.sleep(for: .milliseconds(milliseconds)) // throws when the call is cancelled
            }
            if let until = payload.fail_until, attempt < until {
                throw PluginError(.unavailable, "failing on purpose: attempt \(attempt) < \(until)")
            }
            runs.append("done \(id) \(attempt) \(RunLog.now()) \(fields)")
        }

        kernel.endpoint("probe.enqueue") { (body: EnqueueBody, _) async throws -> [String: [UInt64]] in
            var options = JobOptions(queue: body.queue, priority: body.priority ?? 0, uniqueKey: body.unique_key,
                                     maxAttempts: body.max_attempts)
            if let delay = body.delay_ms { options.delay = .milliseconds(delay) }
            if let uniqueFor = body.unique_for_ms { options.uniqueFor = .milliseconds(uniqueFor) }
            if let timeout = body.timeout_ms { options.timeout = .milliseconds(timeout) }
            let name = body.name ?? "probe.record"
            let payload = body.payload ?? ProbePayload()
            let count = body.count ?? 1
            if count > 1 {
                return ["ids": try await kernel.enqueue(name, batch: Array(repeating: payload, count: count), options: options)]
            }
            return ["ids": [try await kernel.enqueue(name, payload, options: options)]]
        }

        kernel.endpoint("probe.enqueue_plain") { (body: PlainBody, _) async throws -> [String: [UInt64]] in
            ["ids": [try await kernel.enqueue("probe.record", ["tag": "plain"], delay: .milliseconds(body.delay_ms ?? 0))]]
        }

        for pattern in ["job.#", "schedule.#"] {
            kernel.on(pattern) { event in events.add(event) }
        }
        kernel.endpoint("probe.events") { (_: Empty, _) -> [String: [RecordedEvent]] in ["events": events.all] }

        if let spec = kernel.config("schedule_spec") {
            let overlap: ScheduleOptions.Overlap = switch kernel.config("schedule_overlap") {
            case "allow": .allow
            case "queue_one": .queueOne
            case "replace": .replace
            default: .skip
            }
            let misfire: ScheduleOptions.Misfire = switch kernel.config("schedule_misfire") {
            case "skip": .skip
            case "run_all": .runAll
            default: .runOnce
            }
            var payload = ProbePayload(tag: "tick")
            if let sleep = kernel.config("schedule_sleep_ms").flatMap(Int64.init) { payload.sleep_ms = sleep }
            kernel.schedule("probe.tick", cron: spec, job: "probe.record", payload: payload,
                            timeZone: kernel.config("schedule_tz"), options: ScheduleOptions(overlap: overlap, misfire: misfire))
        }
    }
}

/// What `probe.record` does on a run.
struct ProbePayload: Codable, Sendable {
    var tag: String?
    /// Fail while `job.attempt` is below this.
    var fail_until: Int?
    var sleep_ms: Int64?
    /// The first run of the job snoozes for this long.
    var snooze_ms: Int64?
    /// Throw `JobDiscard`.
    var discard: Bool?
    /// Filler, to make the payload large.
    var pad: String?
}

struct EnqueueBody: Codable, Sendable {
    var name: String?
    var payload: ProbePayload?
    var delay_ms: Int64?
    var queue: String?
    var unique_key: String?
    var unique_for_ms: Int64?
    var max_attempts: UInt32?
    var timeout_ms: Int64?
    var priority: Int32?
    var count: Int?
}

struct PlainBody: Codable, Sendable { var delay_ms: Int64? }

struct RecordedEvent: Codable, Sendable {
    var topic: String
    /// The event's payload as JSON text.
    var payload: String
}

/// The last 1000 events seen.
final class EventMemory: Sendable {
    private let events = Mutex<[RecordedEvent]>([])

    func add(_ event: Event) {
        let recorded = RecordedEvent(topic: event.topic, payload: String(decoding: event.payload, as: UTF8.self))
        events.withLock {
            $0.append(recorded)
            if $0.count > 1000 { $0.removeFirst($0.count - 1000) }
        }
    }

    var all: [RecordedEvent] { events.withLock { $0 } }
}

/// `runs.log`: one line per write, each a single `write` on an O_APPEND
/// descriptor, so lines of concurrent runs (and of a reloaded instance) never mix.
struct RunLog: Sendable {
    let path: String

    func append(_ line: String) {
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return }
        defer { close(fd) }
        let bytes = Array((line + "\n").utf8)
        _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    }

    static func now() -> Int64 { Int64((Date().timeIntervalSince1970 * 1000).rounded(.down)) }
}

@_cdecl("kn_plugin_entry")
public func entry(_ host: UnsafeRawPointer?) -> UnsafeRawPointer? { export(JobProbePlugin.self, host: host) }
