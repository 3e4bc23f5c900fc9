import CKernelABI
import Foundation

/// Jobs and schedules: queue background work, declare when it recurs.
/// Durable when the `scheduler` plugin is loaded (kept in storage, run at
/// least once); in the kernel's memory otherwise. Any thread for
/// `enqueue`; `schedule` registers, like `job`, from `register` or `start`.
extension PluginContext {
    /// Queues job `name` to run after `delay`, retried up to its
    /// `maxAttempts`. Returns the job's id once the job is stored.
    ///
    /// ```swift
    /// try await kernel.enqueue("send_welcome", Welcome(email: email), delay: .minutes(5))
    /// ```
    @discardableResult
    public func enqueue<T: Encodable>(_ name: String, _ payload: T, delay: Duration = .zero) async throws(PluginError) -> UInt64 {
        try await enqueue(name, payload, options: JobOptions(delay: delay))
    }

    /// Queues job `name` with every option: queue, priority, run-at,
    /// uniqueness, attempts and timeout. A duplicate unique key throws
    /// `conflict`, with the existing job's id in `details["job_id"]`.
    ///
    /// ```swift
    /// try await kernel.enqueue("report", request, options: JobOptions(queue: "reports", runAt: midnight))
    /// ```
    @discardableResult
    public func enqueue<T: Encodable>(_ name: String, _ payload: T, options: JobOptions) async throws(PluginError) -> UInt64 {
        // No payload is the common case: its bytes need no encoder.
        let bytes = payload is Empty ? Array("{}".utf8) : try JSON.encode(payload, what: "job payload")
        return try await enqueue(name, json: bytes, options: options)
    }

    /// Queues job `name` with a payload that is JSON already.
    ///
    /// ```swift
    /// try await kernel.enqueue("import", json: Array(#"{"file":"a.csv"}"#.utf8), options: JobOptions())
    /// ```
    @discardableResult
    public func enqueue(_ name: String, json bytes: [UInt8], options: JobOptions) async throws(PluginError) -> UInt64 {
        guard options.delay >= .zero else { throw PluginError(.invalidArgument, "job '\(name)': the delay is negative") }
        guard hostHas(\.job_submit) else { return try enqueueBlocking(name, bytes, options) }
        return try await OneShot<UInt64>.wait { waiter throws(PluginError) in
            let context = waiter.retained
            let status = bytes.withUnsafeBufferPointer { payload in
                options.withOptions { options in
                    host.pointee.job_submit(handle, name, kn_bytes(ptr: payload.baseAddress, len: payload.count), options,
                                            { context, status, id, message in
                        let waiter = OneShot<UInt64>.take(context)
                        if status == KN_OK { waiter.resume(.success(id)); return }
                        let text = message.map { String(cString: $0) } ?? ""
                        var error = PluginError(.init(status: status), text.isEmpty ? "cannot enqueue job" : text)
                        if status == KN_ERR_CONFLICT { error.details["job_id"] = String(id) }
                        waiter.resume(.failure(error))
                    }, context)
                }
            }
            guard status == KN_OK else {
                _ = OneShot<UInt64>.take(context) // done never runs: give its hold back
                throw PluginError(.init(status: status), "cannot enqueue job '\(name)'")
            }
        }
    }

    /// Queues many jobs of one name, concurrently: the scheduler commits
    /// the enqueues that arrive together in one transaction. Each job is
    /// stored or refused on its own; the first refusal throws (the others
    /// may be stored: give them unique keys to enqueue the batch again).
    ///
    /// ```swift
    /// let ids = try await kernel.enqueue("resize", images.map { Resize(image: $0) })
    /// ```
    @discardableResult
    public func enqueue<T: Encodable & Sendable>(_ name: String, batch payloads: [T],
                                                 options: JobOptions = JobOptions()) async throws(PluginError) -> [UInt64] {
        let outcomes = await withTaskGroup(of: EnqueueOutcome.self) { group in
            for (index, payload) in payloads.enumerated() {
                group.addTask {
                    do {
                        return EnqueueOutcome(index: index, id: try await self.enqueue(name, payload, options: options), error: nil)
                    } catch {
                        return EnqueueOutcome(index: index, id: 0, error: PluginError(error))
                    }
                }
            }
            var outcomes: [EnqueueOutcome] = []
            outcomes.reserveCapacity(payloads.count)
            for await outcome in group { outcomes.append(outcome) }
            return outcomes.sorted { $0.index < $1.index }
        }
        if let failure = outcomes.first(where: { $0.error != nil })?.error { throw failure }
        return outcomes.map(\.id)
    }

    /// A 1.0/1.1 kernel: `job_enqueue`, which honours only the delay.
    private func enqueueBlocking(_ name: String, _ bytes: [UInt8], _ options: JobOptions) throws(PluginError) -> UInt64 {
        var id: UInt64 = 0
        let status = bytes.withUnsafeBufferPointer {
            host.pointee.job_enqueue(handle, name, kn_bytes(ptr: $0.baseAddress, len: $0.count), options.delay.milliseconds, &id)
        }
        guard status == KN_OK else { throw PluginError(.init(status: status), "cannot enqueue job '\(name)'") }
        return id
    }

    /// A schedule that enqueues job `job` at every fire of a cron expression
    /// (five fields, or six with seconds first; `@daily` and the other
    /// nicknames), in `timeZone` (IANA; nil: UTC). An operator may change or
    /// disable it with `kernelctl schedules`; the change outlives restarts.
    ///
    /// ```swift
    /// kernel.schedule("cleanup", cron: "*/5 * * * *", job: "cleanup")
    /// kernel.schedule("report", cron: "0 7 * * MON-FRI", job: "report", timeZone: "Europe/Berlin")
    /// ```
    public func schedule(_ name: String, cron: String, job: String, payload: (any Encodable)? = nil,
                         timeZone: String? = nil, options: ScheduleOptions = ScheduleOptions()) {
        register(schedule: name, spec: cron, job: job, payload: payload, timeZone: timeZone, options: options)
    }

    /// A schedule that enqueues job `job` every `interval` (at least a second).
    ///
    /// ```swift
    /// kernel.schedule("digest", every: .minutes(15), job: "digest")
    /// ```
    public func schedule(_ name: String, every interval: Duration, job: String, payload: (any Encodable)? = nil,
                         options: ScheduleOptions = ScheduleOptions()) {
        register(schedule: name, spec: "@every \(Self.durationText(interval))", job: job, payload: payload, timeZone: nil,
                 options: options)
    }

    /// `15m`, `90s`, `1500ms`: the largest unit that divides the span (what `kernelctl schedules list` shows).
    static func durationText(_ span: Duration) -> String {
        let milliseconds = span.milliseconds
        for (unit, size) in [("h", UInt64(3_600_000)), ("m", 60_000), ("s", 1_000)] where milliseconds > 0 && milliseconds % size == 0 {
            return "\(milliseconds / size)\(unit)"
        }
        return "\(milliseconds)ms"
    }

    private func register(schedule name: String, spec: String, job: String, payload: (any Encodable)?, timeZone: String?,
                          options: ScheduleOptions) {
        guard hostHas(\.register_schedule) else {
            check(KN_ERR_UNAVAILABLE, "schedule '\(name)' (the kernel is older than ABI 1.2)")
            return
        }
        let bytes: [UInt8]
        do throws(PluginError) {
            bytes = try payload.map { payload throws(PluginError) in try JSON.encode(payload, what: "schedule payload") } ?? []
        } catch {
            check(KN_ERR_INVALID_ARGUMENT, "schedule '\(name)': \(error.message)")
            return
        }
        var def = kn_schedule_def()
        def.struct_size = UInt32(MemoryLayout<kn_schedule_def>.size)
        def.overlap = kn_overlap(rawValue: options.overlap.rawValue)
        def.misfire = kn_misfire(rawValue: options.misfire.rawValue)
        def.misfire_limit = options.misfireLimit
        def.jitter_ms = options.jitter.milliseconds
        let status = bytes.withUnsafeBufferPointer { payload in
            name.withCString { name in
                spec.withCString { spec in
                    job.withCString { job in
                        withOptionalCString(timeZone) { zone in
                            withOptionalCString(options.queue) { queue in
                                def.name = name
                                def.spec = spec
                                def.job = job
                                def.payload = kn_bytes(ptr: payload.baseAddress, len: payload.count)
                                def.time_zone = zone
                                def.queue = queue
                                return host.pointee.register_schedule(handle, &def)
                            }
                        }
                    }
                }
            }
        }
        check(status, "schedule '\(name)'")
    }
}

/// One job of a batch enqueue, by its place in the batch.
private struct EnqueueOutcome: Sendable {
    var index: Int
    var id: UInt64
    var error: PluginError?
}

/// What a schedule does on overlap and misfire, its queue and jitter.
///
/// ```swift
/// kernel.schedule("sync", every: .seconds(30), job: "sync",
///                 options: ScheduleOptions(overlap: .queueOne, misfire: .skip))
/// ```
public struct ScheduleOptions: Sendable, Equatable {
    /// When the previous run has not finished.
    public enum Overlap: UInt32, Sendable { case skip = 0, allow, queueOne, replace }
    /// Fires missed while no kernel ran.
    public enum Misfire: UInt32, Sendable { case runOnce = 0, skip, runAll }

    public var overlap: Overlap
    public var misfire: Misfire
    /// `.runAll`: at most this many missed fires; 0: 100.
    public var misfireLimit: UInt32
    public var jitter: Duration
    public var queue: String?

    public init(overlap: Overlap = .skip, misfire: Misfire = .runOnce, misfireLimit: UInt32 = 0,
                jitter: Duration = .zero, queue: String? = nil) {
        self.overlap = overlap
        self.misfire = misfire
        self.misfireLimit = misfireLimit
        self.jitter = jitter
        self.queue = queue
    }
}

/// Thrown by a job's handler: run the job again after `delay`, without
/// spending an attempt.
///
/// ```swift
/// guard await api.isUp() else { throw JobSnooze(.seconds(30)) }
/// ```
public struct JobSnooze: Error, Sendable {
    public let delay: Duration
    public init(_ delay: Duration) { self.delay = delay }
}

/// Thrown by a job's handler: do not retry; the job is discarded now with
/// `reason` as its error.
///
/// ```swift
/// guard let user = try await users.find(id) else { throw JobDiscard("user \(id) is gone") }
/// ```
public struct JobDiscard: Error, Sendable {
    public let reason: String
    public init(_ reason: String) { self.reason = reason }
}

extension Duration {
    /// `minutes` × 60 seconds.
    public static func minutes(_ minutes: Int64) -> Duration { .seconds(minutes * 60) }
    /// `hours` × 3600 seconds.
    public static func hours(_ hours: Int64) -> Duration { .seconds(hours * 3600) }
}
