import Foundation

/// Human-readable renderings of the scheduler endpoints' answers (jobs,
/// queues, schedules and their fires). Times arrive as ISO-8601 text and are
/// shown as they are.
enum SchedulerRender {
    /// The job states in their order of life; a state a newer plugin added follows.
    private static let states = ["scheduled", "available", "running", "retryable", "completed", "discarded", "cancelled"]

    // MARK: Jobs

    static func jobs(_ result: JSONObject) -> String {
        let jobs = objects(result["jobs"])
        guard !jobs.isEmpty else { return "no jobs" }
        var table = Table("ID", "NAME", "QUEUE", "STATE", "ATTEMPT", "RUN_AT", "LAST_ERROR")
        for job in jobs {
            table.append([Output.text(job["id"]), Output.text(job["name"]), Output.text(job["queue"]),
                          Output.text(job["state"]), attempts(job), Output.text(job["run_at"]), shortened(job["last_error"])])
        }
        return table.render()
    }

    static func job(_ job: JSONObject) -> String {
        var lines = KeyValueList()
        for (key, label) in [("id", "id"), ("name", "name"), ("queue", "queue"), ("state", "state"), ("priority", "priority")] {
            lines.append(label, Output.text(job[key]))
        }
        lines.append("attempt", attempts(job))
        lines.append("run at", Output.text(job["run_at"]))
        lines.append("timeout", milliseconds(job["timeout_ms"], zero: "none"))
        for (key, label) in [("unique_key", "unique key"), ("schedule", "schedule"), ("fire_at", "fire at"),
                             ("enqueued_by", "enqueued by"), ("inserted_at", "inserted at"),
                             ("attempted_at", "attempted at"), ("finished_at", "finished at"),
                             ("last_error", "last error"), ("payload", "payload")] {
            lines.append(label, Output.text(job[key]))
        }
        appendExtras(job, to: &lines, known: [
            "id", "name", "queue", "state", "priority", "attempt", "max_attempts", "run_at", "timeout_ms", "unique_key",
            "schedule", "fire_at", "enqueued_by", "inserted_at", "attempted_at", "finished_at", "last_error", "payload",
            "errors",
        ])
        var errors = Table("ATTEMPT", "AT", "ERROR")
        for error in objects(job["errors"]) {
            errors.append([Output.text(error["attempt"]), Output.text(error["at"]), oneLine(Output.text(error["error"]))])
        }
        return lines.render() + "\n\n" + (errors.rows.isEmpty ? "errors: none" : "errors:\n" + errors.render(indent: "  "))
    }

    /// The answer to `jobs cancel`: a running job stops when its handler sees the cancellation.
    static func cancelled(_ job: JSONObject) -> String {
        let state = Output.text(job["state"])
        let subject = "job \(Output.text(job["id"])) (\(Output.text(job["name"])))"
        return state == "cancelled" ? "cancelled \(subject)" : "cancelling \(subject): it is \(state)"
    }

    static func retried(_ job: JSONObject) -> String {
        "retrying job \(Output.text(job["id"])) (\(Output.text(job["name"]))): \(Output.text(job["state"])) "
            + "from \(Output.text(job["run_at"])), \(attempts(job)) attempts used"
    }

    static func stats(_ result: JSONObject) -> String {
        let counts = result["states"] as? JSONObject ?? [:]
        var table = Table("STATE", "JOBS")
        for state in states + counts.keys.sorted().filter({ !states.contains($0) }) {
            table.append([state, Output.text(counts[state] ?? 0)])
        }
        return "states:\n" + table.render(indent: "  ") + "\n\n" + queueTable(objects(result["queues"]), title: "queues")
    }

    // MARK: Queues

    static func queues(_ result: JSONObject) -> String {
        let queues = objects(result["queues"])
        return queues.isEmpty ? "no queues" : queueTable(queues, title: nil)
    }

    /// The answer to `queues pause|resume|set`: `queue mail: paused, concurrency 5, rate 2/s; 1 running, ...`.
    static func queue(_ queue: JSONObject) -> String {
        let paused = (queue["paused"] as? Bool) == true
        return "queue \(Output.text(queue["name"])): \(paused ? "paused" : "active"), "
            + "concurrency \(Output.text(queue["concurrency"])), rate \(rate(queue["rate"])); "
            + "\(Output.text(queue["running"])) running, \(Output.text(queue["available"])) available, "
            + "\(Output.text(queue["scheduled"])) scheduled, \(Output.text(queue["retryable"])) retryable"
    }

    private static func queueTable(_ queues: [JSONObject], title: String?) -> String {
        var table = Table("NAME", "CONCURRENCY", "RATE", "TIMEOUT", "PAUSED", "RUNNING", "AVAILABLE", "SCHEDULED", "RETRYABLE")
        for queue in queues {
            table.append([Output.text(queue["name"]), Output.text(queue["concurrency"]), rate(queue["rate"]),
                          milliseconds(queue["timeout_ms"], zero: "-"), Output.text(queue["paused"]),
                          Output.text(queue["running"]), Output.text(queue["available"]),
                          Output.text(queue["scheduled"]), Output.text(queue["retryable"])])
        }
        guard let title else { return table.render() }
        return queues.isEmpty ? "\(title): none" : "\(title):\n" + table.render(indent: "  ")
    }

    // MARK: Schedules

    /// A schedule that cannot fire (bad spec or zone) says so in NEXT_FIRE,
    /// and the reasons follow the table.
    static func schedules(_ result: JSONObject) -> String {
        let schedules = objects(result["schedules"])
        guard !schedules.isEmpty else { return "no schedules" }
        var table = Table("NAME", "SPEC", "TZ", "ENABLED", "NEXT_FIRE", "LAST_RUN", "LAST_OUTCOME", "LAST_ERROR")
        var broken: [String] = []
        for schedule in schedules {
            let error = schedule["error"] as? String
            if let error { broken.append("  \(Output.text(schedule["name"])): \(oneLine(error))") }
            table.append([Output.text(schedule["name"]), Output.text(schedule["spec"]), Output.text(schedule["time_zone"]),
                          Output.text(schedule["enabled"]), error == nil ? Output.text(schedule["next_fire"]) : "CANNOT FIRE",
                          Output.text(schedule["last_run"]), Output.text(schedule["last_outcome"]),
                          shortened(schedule["last_error"])])
        }
        var text = table.render()
        if !broken.isEmpty { text += "\n\ncannot fire:\n" + broken.joined(separator: "\n") }
        return text
    }

    static func schedule(_ schedule: JSONObject) -> String {
        var lines = KeyValueList()
        if let error = schedule["error"] as? String { lines.append("CANNOT FIRE", error) }
        for (key, label) in [("name", "name"), ("source", "source"), ("owner", "owner"), ("spec", "spec"),
                             ("time_zone", "time zone"), ("job", "job"), ("payload", "payload"), ("queue", "queue"),
                             ("overlap", "overlap"), ("misfire", "misfire"), ("enabled", "enabled"),
                             ("next_fire", "next fire"), ("last_fire", "last fire"), ("last_run", "last run"),
                             ("last_outcome", "last outcome"), ("last_error", "last error")] {
            lines.append(label, Output.text(schedule[key]))
        }
        appendExtras(schedule, to: &lines, known: [
            "name", "source", "owner", "spec", "time_zone", "job", "payload", "queue", "overlap", "misfire", "enabled",
            "next_fire", "last_fire", "last_run", "last_outcome", "last_error", "error", "history",
        ])
        guard let history = schedule["history"] as? [Any] else { return lines.render() }
        let fires = history.compactMap { $0 as? JSONObject }
        return lines.render() + "\n\n" + (fires.isEmpty ? "recent fires: none" : "recent fires:\n" + fireTable(fires, indent: "  "))
    }

    /// The answer to `schedules add|set`: a line, then the schedule.
    static func scheduleChange(_ verb: String, _ schedule: JSONObject) -> String {
        "\(verb) schedule \(Output.text(schedule["name"]))\n\n" + self.schedule(schedule)
    }

    static func enabled(_ schedule: JSONObject) -> String {
        var text = "enabled schedule \(Output.text(schedule["name"]))"
        if let error = schedule["error"] as? String { return text + ", but it cannot fire: \(oneLine(error))" }
        if let next = schedule["next_fire"] as? String { text += "; next fire \(next)" }
        return text
    }

    /// The answer to `schedules run`: the outcome of the fire it made.
    static func fired(_ schedule: JSONObject) -> String {
        var text = "fired schedule \(Output.text(schedule["name"])): \(Output.text(schedule["last_outcome"]))"
        if let error = schedule["last_error"] as? String { text += ": \(oneLine(error))" }
        return text
    }

    static func history(_ result: JSONObject) -> String {
        let fires = objects(result["fires"])
        return fires.isEmpty ? "no fires" : fireTable(fires, indent: "")
    }

    /// `schedules next`: one time per line.
    static func next(_ result: JSONObject) -> String {
        let times = (result["next"] as? [Any] ?? []).map { Output.text($0) }
        return times.isEmpty ? "no fire times" : times.joined(separator: "\n")
    }

    private static func fireTable(_ fires: [JSONObject], indent: String) -> String {
        var table = Table("FIRE_AT", "FIRED_AT", "OUTCOME", "JOB", "JOB_STATE", "ERROR")
        for fire in fires {
            table.append([Output.text(fire["fire_at"]), Output.text(fire["fired_at"]), Output.text(fire["outcome"]),
                          Output.text(fire["job_id"]), Output.text(fire["job_state"]), shortened(fire["error"])])
        }
        return table.render(indent: indent)
    }

    // MARK: Values

    /// `attempt/max_attempts`, e.g. `2/5`.
    private static func attempts(_ job: JSONObject) -> String {
        "\(Output.text(job["attempt"]))/\(Output.text(job["max_attempts"]))"
    }

    /// Jobs per second, or `-` for no limit.
    private static func rate(_ value: Any?) -> String {
        guard let rate = (value as? NSNumber)?.doubleValue else { return Output.text(value) }
        return rate == 0 ? "-" : "\(Output.text(value))/s"
    }

    /// A duration in milliseconds, with `zero` standing for 0 (no limit).
    private static func milliseconds(_ value: Any?, zero: String) -> String {
        (value as? NSNumber)?.int64Value == 0 ? zero : Output.duration(milliseconds: value)
    }

    /// Fields a newer plugin added are still shown, `some_field` as `some field`.
    private static func appendExtras(_ result: JSONObject, to lines: inout KeyValueList, known: Set<String>) {
        for key in result.keys.sorted() where !known.contains(key) {
            lines.append(key.replacingOccurrences(of: "_", with: " "), Output.text(result[key]))
        }
    }

    private static func oneLine(_ text: String) -> String {
        text.split(whereSeparator: \.isNewline).joined(separator: " ")
    }

    /// A table cell: one line of at most 60 characters.
    private static func shortened(_ value: Any?) -> String {
        let line = oneLine(Output.text(value))
        return line.count > 60 ? String(line.prefix(57)) + "..." : line
    }

    private static func objects(_ value: Any?) -> [JSONObject] {
        (value as? [Any] ?? []).compactMap { $0 as? JSONObject }
    }
}
