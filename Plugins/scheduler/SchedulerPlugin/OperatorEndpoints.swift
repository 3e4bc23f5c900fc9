import Foundation
import KernelSDK

/// Endpoints for operators (`kernelctl jobs`, `queues`), reachable through
/// the admin socket only. Schedules: OperatorEndpoints+Schedules.swift.
enum OperatorEndpoints {
    static func register(with kernel: PluginContext, runtime: SchedulerRuntime) {
        let store = runtime.store
        let dispatcher = runtime.dispatcher
        kernel.endpoint("scheduler.jobs.list", description: "Jobs by queue and state, newest first (admin)") {
            (filter: JobFilter, request) async throws -> [String: [JobRecord]] in
            try request.requireOperator()
            if let state = filter.state, JobState(rawValue: state) == nil {
                throw PluginError.invalidArgument("unknown state '\(state)': one of \(JobState.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            var conditions: [String] = []
            var values: [SQLValue] = []
            if let queue = filter.queue { values.append(.text(queue)); conditions.append("queue = $\(values.count)") }
            if let state = filter.state { values.append(.text(state)); conditions.append("state = $\(values.count)") }
            values.append(.integer(Int64(min(max(filter.limit ?? 50, 1), 1000))))
            let rows = try await store.sql.query("""
                SELECT \(JobRecord.columns) FROM jobs \(conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND "))
                ORDER BY id DESC LIMIT $\(values.count)
                """, values)
            return ["jobs": rows.rows.map { JobRecord($0) }]
        }
        kernel.endpoint("scheduler.jobs.show", description: "One job with its errors (admin)") {
            (body: JobID, request) async throws -> JobRecord in
            try request.requireOperator()
            return try await job(body.id, store)
        }
        kernel.endpoint("scheduler.jobs.enqueue", description: "Queues a job (admin)") {
            (body: EnqueueRequest, request) async throws -> [String: Int64] in
            try request.requireOperator()
            let payload = body.payload ?? "{}"
            try checkJSON(payload, "the payload")
            let id = try await kernel.enqueue(body.name, json: Array(payload.utf8), options: try body.options())
            return ["id": Int64(id)]
        }
        kernel.endpoint("scheduler.jobs.cancel", description: "Cancels a job that has not finished (admin)") {
            (body: JobID, request) async throws -> JobRecord in
            try request.requireOperator()
            if !dispatcher.cancel(body.id, reason: "cancelled by an operator") {
                let changed = try await store.sql.execute("""
                    UPDATE jobs SET state = 'cancelled', finished_at = $1, last_error = 'cancelled by an operator'
                    WHERE id = $2 AND state IN ('scheduled','available','retryable')
                    """, [.integer(WallClock.now()), .integer(body.id)])
                if changed == 0 {
                    let current = try await job(body.id, store)
                    throw PluginError.conflict("job \(body.id) is \(current.state); only an unfinished job can be cancelled")
                }
            }
            return try await job(body.id, store)
        }
        kernel.endpoint("scheduler.jobs.retry", description: "Runs a waiting or finished job again now (admin)") {
            (body: JobID, request) async throws -> JobRecord in
            try request.requireOperator()
            let changed = try await store.sql.execute("""
                UPDATE jobs SET state = 'available', run_at = $1, finished_at = NULL,
                max_attempts = CASE WHEN attempt >= max_attempts THEN attempt + 1 ELSE max_attempts END
                WHERE id = $2 AND state IN ('scheduled','retryable','discarded','cancelled','completed')
                """, [.integer(WallClock.now()), .integer(body.id)])
            if changed == 0 {
                let current = try await job(body.id, store)
                throw PluginError.conflict("job \(body.id) is \(current.state) already")
            }
            dispatcher.wake()
            return try await job(body.id, store)
        }
        kernel.endpoint("scheduler.jobs.delete", description: "Deletes a job that is not running (admin)") {
            (body: JobID, request) async throws -> [String: Int64] in
            try request.requireOperator()
            let current = try await job(body.id, store)
            guard current.state != JobState.running.rawValue else {
                throw PluginError.conflict("job \(body.id) is running; cancel it first")
            }
            try await store.sql.execute("DELETE FROM jobs WHERE id = $1 AND state <> 'running'", [.integer(body.id)])
            return ["deleted": body.id]
        }
        kernel.endpoint("scheduler.jobs.stats", description: "Jobs per state and queue (admin)") {
            (_: Empty, request) async throws -> StatsView in
            try request.requireOperator()
            var states: [String: Int64] = Dictionary(uniqueKeysWithValues: JobState.allCases.map { ($0.rawValue, 0) })
            for row in try await store.sql.query("SELECT state, COUNT(*) AS n FROM jobs GROUP BY state").rows {
                if let state = row["state"].string { states[state] = row["n"].int ?? 0 }
            }
            return StatsView(states: states, queues: try await queueViews(runtime))
        }
        kernel.endpoint("scheduler.queues.list", description: "Queues with settings and depths (admin)") {
            (_: Empty, request) async throws -> [String: [QueueView]] in
            try request.requireOperator()
            return ["queues": try await queueViews(runtime)]
        }
        kernel.endpoint("scheduler.queues.set", description: "Pauses, resumes or re-sizes a queue (admin)") {
            (body: QueueSetRequest, request) async throws -> QueueView in
            try request.requireOperator()
            guard QueueSettings.isValidName(body.name) else { throw PluginError.invalidArgument("'\(body.name)' is not a queue name") }
            var queue = dispatcher.queue(body.name)
                ?? QueueSettings(name: body.name, concurrency: 10, rate: 0, timeout_ms: 0, paused: false)
            if let paused = body.paused { queue.paused = paused }
            if let concurrency = body.concurrency {
                guard (1...10_000).contains(concurrency) else { throw PluginError.invalidArgument("concurrency must be 1 to 10000") }
                queue.concurrency = concurrency
            }
            if let rate = body.rate {
                guard rate >= 0, rate.isFinite else { throw PluginError.invalidArgument("rate must be 0 (no limit) or more jobs per second") }
                queue.rate = rate
            }
            try await QueueStore(store: store).save(queue)
            dispatcher.update(queue)
            return try await queueViews(runtime).first { $0.name == queue.name }!
        }
        registerSchedules(with: kernel, runtime: runtime)
    }


    static func job(_ id: Int64, _ store: JobStore) async throws -> JobRecord {
        guard let row = try await store.sql.query("SELECT \(JobRecord.columns) FROM jobs WHERE id = $1", [.integer(id)]).first
        else { throw PluginError.notFound("no job \(id)") }
        return JobRecord(row, withErrors: true)
    }

    static func queueViews(_ runtime: SchedulerRuntime) async throws -> [QueueView] {
        let depths = try await QueueStore(store: runtime.store).depths()
        return runtime.dispatcher.queues.map { queue in
            let depth = depths[queue.name] ?? [:]
            return QueueView(name: queue.name, concurrency: queue.concurrency, rate: queue.rate, timeout_ms: queue.timeout_ms,
                             paused: queue.paused, running: runtime.dispatcher.runningCount(queue: queue.name),
                             available: depth["available"] ?? 0, scheduled: depth["scheduled"] ?? 0,
                             retryable: depth["retryable"] ?? 0)
        }
    }
}

struct QueueSetRequest: Codable, Sendable { var name: String; var paused: Bool?; var concurrency: Int?; var rate: Double? }

struct QueueView: Codable, Sendable {
    var name: String
    var concurrency: Int
    var rate: Double
    var timeout_ms: Int64
    var paused: Bool
    var running: Int
    var available: Int64
    var scheduled: Int64
    var retryable: Int64
}

struct StatsView: Codable, Sendable {
    var states: [String: Int64]
    var queues: [QueueView]
}
