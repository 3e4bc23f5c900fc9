import CronKit
import Foundation
import KernelSDK

/// `kernelctl schedules ...`: list, show, change, run, remove, history, next.
extension OperatorEndpoints {
    static func registerSchedules(with kernel: PluginContext, runtime: SchedulerRuntime) {
        let engine = runtime.engine
        let store = runtime.store
        kernel.endpoint("scheduler.schedules.list", description: "Schedules with next fire and last outcome (admin)") {
            (_: Empty, request) async throws -> [String: [ScheduleView]] in
            try request.requireOperator()
            return ["schedules": try await scheduleViews(runtime, name: nil)]
        }
        kernel.endpoint("scheduler.schedules.show", description: "One schedule and its recent fires (admin)") {
            (body: NameRequest, request) async throws -> ScheduleView in
            try request.requireOperator()
            guard var view = try await scheduleViews(runtime, name: body.name).first else {
                throw PluginError.notFound("no schedule named '\(body.name)'")
            }
            view.history = try await history(body.name, limit: body.limit ?? 10, store)
            return view
        }
        kernel.endpoint("scheduler.schedules.history", description: "Fires of a schedule, newest first (admin)") {
            (body: NameRequest, request) async throws -> [String: [FireView]] in
            try request.requireOperator()
            guard engine.entry(body.name) != nil else { throw PluginError.notFound("no schedule named '\(body.name)'") }
            return ["fires": try await history(body.name, limit: body.limit ?? 50, store)]
        }
        for (verb, enabled) in [("enable", true), ("disable", false)] {
            kernel.endpoint("scheduler.schedules.\(verb)", description: "\(verb.capitalized)s a schedule; kept across restarts (admin)") {
                (body: NameRequest, request) async throws -> ScheduleView in
                try request.requireOperator()
                guard engine.entry(body.name) != nil else { throw PluginError.notFound("no schedule named '\(body.name)'") }
                try await store.sql.execute("UPDATE schedules SET enabled = $1 WHERE name = $2",
                                            [.integer(enabled ? 1 : 0), .text(body.name)])
                try await engine.load()
                return try await scheduleViews(runtime, name: body.name)[0]
            }
        }
        kernel.endpoint("scheduler.schedules.run", description: "Fires a schedule now, whatever its timing (admin)") {
            (body: NameRequest, request) async throws -> ScheduleView in
            try request.requireOperator()
            guard engine.entry(body.name) != nil else { throw PluginError.notFound("no schedule named '\(body.name)'") }
            await engine.fire(body.name, at: WallClock.now(), ignoringOverlap: true)
            return try await scheduleViews(runtime, name: body.name)[0]
        }
        kernel.endpoint("scheduler.schedules.remove", description: "Removes an operator's schedule (admin)") {
            (body: NameRequest, request) async throws -> [String: String] in
            try request.requireOperator()
            guard let entry = engine.entry(body.name) else { throw PluginError.notFound("no schedule named '\(body.name)'") }
            guard entry.definition.source == .operator else {
                throw PluginError.conflict("schedule '\(body.name)' is declared by plugin '\(entry.definition.owner)': disable it instead")
            }
            try await store.sql.execute("DELETE FROM schedules WHERE name = $1", [.text(body.name)])
            try await engine.load()
            return ["removed": body.name]
        }
        kernel.endpoint("scheduler.schedules.add", description: "Adds a schedule, kept across restarts (admin)") {
            (body: ScheduleRequest, request) async throws -> ScheduleView in
            try request.requireOperator()
            guard isValidName(body.name) else { throw PluginError.invalidArgument("'\(body.name)' is not a schedule name ([A-Za-z0-9._-]{1,128})") }
            guard engine.entry(body.name) == nil else { throw PluginError.conflict("a schedule named '\(body.name)' exists") }
            guard let spec = body.spec, let job = body.job else { throw PluginError.invalidArgument("a spec and a job are required") }
            try await check(body, spec: spec, job: job, kernel: kernel, runtime: runtime)
            try await store.sql.execute("""
                INSERT INTO schedules (name, source, spec, job, payload, time_zone, queue, overlap, misfire, enabled, created_at)
                VALUES ($1, 'operator', $2, $3, $4, $5, $6, $7, $8, 1, $9)
                """, [.text(body.name), .text(spec), .text(job), .text(body.payload ?? "{}"), .text(body.time_zone ?? "UTC"),
                      .text(body.queue ?? "default"), .text(body.overlap ?? "skip"), .text(body.misfire ?? "run_once"),
                      .integer(WallClock.now())])
            try await engine.load()
            return try await scheduleViews(runtime, name: body.name)[0]
        }
        kernel.endpoint("scheduler.schedules.set", description: "Changes a schedule's timing or policies; kept across restarts (admin)") {
            (body: ScheduleRequest, request) async throws -> ScheduleView in
            try request.requireOperator()
            guard let entry = engine.entry(body.name) else { throw PluginError.notFound("no schedule named '\(body.name)'") }
            let current = entry.definition
            if current.source == .code && (body.job != nil || body.payload != nil || body.queue != nil) {
                throw PluginError.invalidArgument("schedule '\(body.name)' is declared by plugin '\(current.owner)': only its spec, zone, overlap, misfire and enabled can change")
            }
            try await check(body, spec: body.spec ?? current.spec, job: body.job ?? current.job, kernel: kernel, runtime: runtime)
            try await store.sql.execute("""
                UPDATE schedules SET spec = COALESCE($2, spec), time_zone = COALESCE($3, time_zone), overlap = COALESCE($4, overlap),
                misfire = COALESCE($5, misfire), job = COALESCE($6, job), payload = COALESCE($7, payload), queue = COALESCE($8, queue)
                WHERE name = $1
                """, [.text(body.name), .text(body.spec), .text(body.time_zone), .text(body.overlap), .text(body.misfire),
                      .text(body.job), .text(body.payload), .text(body.queue)])
            try await engine.load()
            return try await scheduleViews(runtime, name: body.name)[0]
        }
        kernel.endpoint("scheduler.schedules.next", description: "The next fire times of an expression (admin)") {
            (body: NextRequest, request) async throws -> [String: [String]] in
            try request.requireOperator()
            let zoneName = body.time_zone ?? "UTC"
            try checkSchedule(spec: body.spec, zoneName: zoneName)
            let spec = try! ScheduleSpec(body.spec)
            let zone = try! CronKit.zone(named: zoneName)
            var from = Date()
            if let text = body.from {
                guard let date = ISO8601Text.parse(text) else { throw PluginError.invalidArgument("from: '\(text)' is not an ISO-8601 time") }
                from = date
            }
            let count = min(max(body.count ?? 5, 1), 1000)
            return ["next": spec.next(after: from, in: zone, count: count).map { ISO8601Text.format($0, in: zone) }]
        }
    }

    /// Spec, zone, policies, queue, job and payload of an added or changed schedule.
    private static func check(_ body: ScheduleRequest, spec: String, job: String, kernel: PluginContext,
                              runtime: SchedulerRuntime) async throws {
        try checkSchedule(spec: spec, zoneName: body.time_zone ?? runtime.engine.entry(body.name)?.definition.timeZone ?? "UTC")
        if let overlap = body.overlap, ScheduleDefinition.Overlap(rawValue: overlap) == nil {
            throw PluginError.invalidArgument("overlap: '\(overlap)' is not one of skip, allow, queue_one, replace")
        }
        if let misfire = body.misfire, ScheduleDefinition.Misfire(rawValue: misfire) == nil {
            throw PluginError.invalidArgument("misfire: '\(misfire)' is not one of run_once, skip, run_all")
        }
        if let queue = body.queue, runtime.dispatcher.queue(queue) == nil { throw PluginError.notFound("no queue named '\(queue)'") }
        if let payload = body.payload { try checkJSON(payload, "the payload") }
        guard jobIsRegistered(job, kernel) else { throw PluginError.notFound("no job named '\(job)' is registered") }
    }

    /// Whether a handler is registered for `job` now (`call_set_job` says so).
    static func jobIsRegistered(_ job: String, _ kernel: PluginContext) -> Bool {
        guard let call = kernel.host.pointee.call_new(kernel.handle, "job") else { return false }
        defer { kernel.host.pointee.call_release(call) }
        return kernel.host.pointee.call_set_job(call, job) == .init(0)
    }

    static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 128 && name.utf8.allSatisfy {
            ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2E || $0 == 0x5F || $0 == 0x2D
        }
    }

    static func history(_ name: String, limit: Int, _ store: JobStore) async throws -> [FireView] {
        try await store.sql.query("""
            SELECT f.fire_at, f.fired_at, f.outcome, f.job_id, j.state, j.last_error FROM fires f
            LEFT JOIN jobs j ON j.id = f.job_id WHERE f.schedule = $1 ORDER BY f.fire_at DESC LIMIT $2
            """, [.text(name), .integer(Int64(min(max(limit, 1), 1000)))]).rows.map { row in
            FireView(fire_at: WallClock.text(row["fire_at"].int ?? 0), fired_at: WallClock.text(row["fired_at"].int ?? 0),
                     outcome: row["outcome"].string ?? "", job_id: row["job_id"].int, job_state: row["state"].string,
                     error: row["last_error"].string)
        }
    }

    static func scheduleViews(_ runtime: SchedulerRuntime, name: String?) async throws -> [ScheduleView] {
        var rows: [String: SQLRow] = [:]
        for row in try await runtime.store.sql.query("SELECT name, last_fire_at, last_run_at, last_outcome, last_error FROM schedules").rows {
            if let name = row["name"].string { rows[name] = row }
        }
        return runtime.engine.entries.filter { name == nil || $0.definition.name == name }.map { entry in
            let definition = entry.definition
            let row = rows[definition.name]
            return ScheduleView(
                name: definition.name, source: definition.source.rawValue, owner: definition.owner, spec: definition.spec,
                job: definition.job, payload: definition.payload, time_zone: definition.timeZone, queue: definition.queue,
                overlap: definition.overlap.rawValue, misfire: definition.misfire.rawValue, enabled: definition.enabled,
                next_fire: definition.enabled ? entry.nextFire.map { ISO8601Text.format(Date(timeIntervalSince1970: Double($0) / 1000), in: entry.zone) } : nil,
                last_fire: row?["last_fire_at"].int.map(WallClock.text), last_run: row?["last_run_at"].int.map(WallClock.text),
                last_outcome: row?["last_outcome"].string, last_error: row?["last_error"].string, error: entry.error, history: nil)
        }
    }
}

struct ScheduleView: Codable, Sendable {
    var name: String
    var source: String
    var owner: String
    var spec: String
    var job: String
    var payload: String
    var time_zone: String
    var queue: String
    var overlap: String
    var misfire: String
    var enabled: Bool
    var next_fire: String?
    var last_fire: String?
    var last_run: String?
    var last_outcome: String?
    var last_error: String?
    /// Why the schedule does not fire (a bad spec or zone).
    var error: String?
    var history: [FireView]?
}

struct FireView: Codable, Sendable {
    var fire_at: String
    var fired_at: String
    var outcome: String
    var job_id: Int64?
    var job_state: String?
    var error: String?
}
