import CronKit
import Foundation
import KernelSDK

/// Loading schedules, firing one, and what a finished fire leaves behind.
extension ScheduleEngine {
    var sql: SQLDatabase { get throws(PluginError) { try kernel.storage().sql } }

    /// Merges the declared schedules, the operator's changes and schedules,
    /// and the stored fire times into the entries.
    func load() async throws {
        await loading.lock()
        defer { loading.unlock() }
        try await loadLocked()
    }

    private func loadLocked() async throws {
        let declared = ScheduleDefinition.declared(kernel)
        var rows: [String: SQLRow] = [:]
        for row in try await sql.query("SELECT * FROM schedules").rows {
            if let name = row["name"].string { rows[name] = row }
        }
        let now = WallClock.now()
        var definitions: [(ScheduleDefinition, SQLRow?)] = []
        for definition in declared {
            if let row = rows[definition.name], row["source"].string == ScheduleDefinition.Source.code.rawValue {
                definitions.append((definition.applying(row), row))
            } else {
                if rows[definition.name] != nil {
                    kernel.log(.warning, "scheduler: schedule '\(definition.name)' of plugin '\(definition.owner)' replaces the operator's schedule of that name")
                    try await sql.execute("DELETE FROM schedules WHERE name = $1", [.text(definition.name)])
                }
                try await sql.execute(
                    "INSERT INTO schedules (name, source, created_at) VALUES ($1, 'code', $2) ON CONFLICT (name) DO NOTHING",
                    [.text(definition.name), .integer(now)])
                definitions.append((definition, nil))
            }
        }
        let declaredNames = Set(declared.map(\.name))
        for row in rows.values where row["source"].string == ScheduleDefinition.Source.operator.rawValue {
            if let definition = ScheduleDefinition.fromOperatorRow(row), !declaredNames.contains(definition.name) {
                definitions.append((definition, row))
            }
        }
        let previous = currentEntries
        var entries: [String: Entry] = [:]
        for (definition, row) in definitions {
            var entry = Entry(definition: definition, spec: nil, zone: WallClock.utc)
            switch definition.compiled() {
            case .success(let (spec, zone)):
                entry.spec = spec
                entry.zone = zone
            case .failure(let error):
                entry.error = "\(error)"
                if previous[definition.name]?.definition != definition {
                    kernel.log(.error, "scheduler: schedule '\(definition.name)' does not fire: \(error)")
                }
            }
            if let old = previous[definition.name], old.definition == definition {
                entry.nextFire = old.nextFire
                entry.lastFire = old.lastFire
                entry.queuedFire = old.queuedFire
                entry.blockedUntil = old.blockedUntil
                entry.prepared = old.prepared
                entry.prepareChecked = old.prepareChecked
                entry.preclaimed = old.preclaimed
                entry.preclaimTried = old.preclaimTried
            } else if let spec = entry.spec {
                let lastFire = row?["last_fire_at"].int
                entry.lastFire = lastFire
                let changed = previous[definition.name] != nil
                // After a change, fires of the new timing start from now; at start, from the last fire (misfires).
                let anchor = changed ? now : (lastFire ?? row?["created_at"].int ?? now)
                entry.nextFire = nextFire(spec, entry.zone, after: anchor)
            }
            if definition.overlap == .queue_one, entry.queuedFire == nil, previous[definition.name] == nil {
                // A fire that waited when the last kernel stopped still waits.
                entry.queuedFire = try await sql.query(
                    "SELECT MAX(fire_at) AS fire_at FROM fires WHERE schedule = $1 AND outcome = 'queued'",
                    [.text(definition.name)]).first?["fire_at"].int
            }
            entries[definition.name] = entry
        }
        // Prepared fires of a schedule that changed or went are taken back; those a
        // stopped kernel prepared are adopted when they are still the next fire.
        for (name, old) in previous {
            guard let prepared = old.prepared, entries[name]?.prepared != prepared else { continue }
            await withdraw(name, prepared, claimed: old.preclaimed)
        }
        for (name, entry) in entries where previous[name] == nil {
            let lastFire = entry.lastFire ?? 0
            for row in try await sql.query("""
                SELECT id, fire_at FROM jobs WHERE schedule = $1 AND state = 'scheduled' AND fire_at > $2
                """, [.text(name), .integer(lastFire)]).rows {
                guard let id = row["id"].int, let fireAt = row["fire_at"].int else { continue }
                let prepared = PreparedFire(fireAt: fireAt, jobID: id)
                if fireAt == entry.nextFire && entry.definition.enabled && entries[name]?.prepared == nil {
                    entries[name]?.prepared = prepared
                } else {
                    await withdraw(name, prepared)
                }
            }
        }
        setEntries(entries)
        for entry in entries.values where previous[entry.definition.name] == nil && entry.queuedFire != nil {
            let unfinished = try await sql.query(
                "SELECT COUNT(*) AS n FROM jobs WHERE schedule = $1 AND state IN \(JobState.unfinishedSQL)",
                [.text(entry.definition.name)]).first?["n"].int ?? 0
            if unfinished == 0, let fire = takeQueued(entry.definition.name) {
                Task { await self.fire(entry.definition.name, at: fire, ignoringOverlap: true) }
            }
        }
    }

    enum FireResult: Sendable {
        case done
        /// Not made; try again later (no handler for the job yet, storage away).
        case retry(String)
    }

    /// One fire of `name` at `fireAt`, by its overlap policy.
    @discardableResult
    func fire(_ name: String, at fireAt: Int64, ignoringOverlap: Bool = false) async -> FireResult {
        guard let definition = entry(name)?.definition else { return .done }
        // Its plugin is loading or reloading: the fire waits for it (and counts as missed if that takes long).
        guard OperatorEndpoints.jobIsRegistered(definition.job, kernel) else {
            return .retry("no handler is registered for job '\(definition.job)'")
        }
        do {
            let unfinished = try await sql.query(
                "SELECT id, state FROM jobs WHERE schedule = $1 AND state IN \(JobState.unfinishedSQL)", [.text(name)]).rows
            if !unfinished.isEmpty && !ignoringOverlap {
                let waiting = unfinished.contains { $0["state"].string != JobState.running.rawValue }
                switch definition.overlap {
                case .allow:
                    break
                case .skip:
                    try await skip(definition, fireAt, reason: "overlap: the previous run has not finished")
                    return .done
                case .queue_one:
                    if waiting || entry(name)?.queuedFire != nil {
                        try await skip(definition, fireAt, reason: "overlap: a run is queued already")
                        return .done
                    }
                    queue(name, fireAt)
                    try await recordFire(name, fireAt, outcome: "queued", jobID: nil)
                    return .done
                case .replace:
                    for row in unfinished {
                        guard let id = row["id"].int else { continue }
                        if !dispatcher.cancel(id, reason: "replaced by the fire of \(WallClock.text(fireAt))") {
                            try await sql.execute("""
                                UPDATE jobs SET state = 'cancelled', finished_at = $1, last_error = $2
                                WHERE id = $3 AND state IN ('scheduled','available','retryable')
                                """, [.integer(WallClock.now()), .text("replaced by the fire of \(WallClock.text(fireAt))"), .integer(id)])
                        }
                    }
                }
            }
            try await enqueue(definition, fireAt)
            return .done
        } catch let error as PluginError where error.code == .unavailable || error.code == .timeout || error.code == .notFound {
            return .retry("\(error)")
        } catch {
            // Refused for good (a payload over the limit, an unknown queue): recorded, not retried.
            kernel.log(.warning, "scheduler: schedule '\(name)' fire at \(WallClock.text(fireAt)) failed: \(error)")
            try? await recordLastFire(name, fireAt, outcome: "error", error: "\(error)")
            telemetry.missed(name, job: definition.job, fireAt: fireAt, reason: "\(error)")
            return .done
        }
    }

    private func enqueue(_ definition: ScheduleDefinition, _ fireAt: Int64) async throws {
        guard let id = try await storeFire(definition, fireAt) else { return }
        try await recordLastFire(definition.name, fireAt, outcome: "enqueued", error: nil)
        telemetry.fired(definition.name, job: definition.job, fireAt: fireAt, jobID: id)
    }

    /// Stores the job of the fire at `fireAt` (to run then, plus jitter) with
    /// the fire's row; nil when the fire was made before (by another kernel,
    /// or before a crash): never twice.
    func storeFire(_ definition: ScheduleDefinition, _ fireAt: Int64) async throws(PluginError) -> Int64? {
        fires.add(definition.name, fireAt)
        defer { fires.remove(definition.name, fireAt) }
        let jitter = definition.jitterMilliseconds > 0 ? Int64.random(in: 0...definition.jitterMilliseconds) : 0
        let options = JobOptions(queue: definition.queue, runAt: Date(timeIntervalSince1970: Double(fireAt + jitter) / 1000),
                                 uniqueKey: PendingFires.key(definition.name, fireAt))
        do {
            return Int64(try await kernel.enqueue(definition.job, json: Array(definition.payload.utf8), options: options))
        } catch where error.code == .conflict {
            return nil
        }
    }

    func skip(_ definition: ScheduleDefinition, _ fireAt: Int64, reason: String) async throws {
        try await recordFire(definition.name, fireAt, outcome: "skipped", jobID: nil)
        try await recordLastFire(definition.name, fireAt, outcome: "skipped", error: reason)
        telemetry.missed(definition.name, job: definition.job, fireAt: fireAt, reason: reason)
    }

    func recordFire(_ name: String, _ fireAt: Int64, outcome: String, jobID: Int64?) async throws(PluginError) {
        try await sql.execute("""
            INSERT INTO fires (schedule, fire_at, fired_at, outcome, job_id) VALUES ($1, $2, $3, $4, $5)
            ON CONFLICT (schedule, fire_at) DO UPDATE SET outcome = $4, job_id = $5
            """, [.text(name), .integer(fireAt), .integer(WallClock.now()), .text(outcome), .integer(jobID)])
    }

    func recordLastFire(_ name: String, _ fireAt: Int64, outcome: String, error: String?) async throws(PluginError) {
        try await sql.execute("""
            UPDATE schedules SET last_fire_at = $1, last_outcome = $2, last_error = $3 WHERE name = $4
            """, [.integer(fireAt), .text(outcome), .text(error), .text(name)])
    }

    /// A job fired by a schedule finished an attempt: record it, and start
    /// the fire that queue_one kept waiting.
    func finished(_ job: ClaimedJob, _ outcome: AttemptOutcome, _ finish: JobStore.Finish) {
        guard let schedule = job.schedule else { return }
        let (text, error): (String, String?) = switch outcome {
        case .succeeded: ("succeeded", nil)
        case .failed(let message): ("failed", message)
        case .timedOut(let ms): ("failed", "timed out after \(ms) ms")
        case .discarded(let message): ("discarded", message)
        case .cancelled(let message): ("cancelled", message)
        case .snoozed: ("snoozed", nil)
        case .interrupted, .noHandler: ("interrupted", nil)
        }
        // The waiting fire starts when the job is finished, not after each attempt.
        let final = switch finish {
        case .completed, .discard, .cancelled: true
        case .retry, .release: false
        }
        let queued = final ? takeQueued(schedule) : nil
        if final { recheckPreparation(schedule) }
        Task {
            _ = try? await sql.execute("UPDATE schedules SET last_run_at = $1, last_outcome = $2, last_error = $3 WHERE name = $4",
                                   [.integer(WallClock.now()), .text(text), .text(error), .text(schedule)])
            if let queued { await fire(schedule, at: queued, ignoringOverlap: true) }
        }
    }
}
