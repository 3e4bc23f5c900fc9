import Foundation
import KernelSDK

/// Events on the kernel's bus for every attempt and fire (`job.started`,
/// `job.succeeded`, `job.failed`, `job.discarded`, `job.cancelled`,
/// `schedule.fired`, `schedule.missed`), and the counters `kernelctl info
/// scheduler` shows. Payloads are written by hand: two events per job must
/// cost little when nobody listens.
struct Telemetry: Sendable {
    let kernel: PluginContext

    func started(_ job: ClaimedJob) {
        kernel.host.pointee.metric_add(kernel.handle, "jobs.started", 1)
        publish("job.started", jobFields(job))
    }

    func finished(_ job: ClaimedJob, _ outcome: AttemptOutcome, finish: JobStore.Finish, elapsed: Duration) {
        var fields = jobFields(job)
        let milliseconds = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
        fields.number("duration_ms", milliseconds)
        switch finish {
        case .completed:
            count("jobs.succeeded")
            publish("job.succeeded", fields)
        case .retry(_, let at, let error):
            fields.string("error", error.error)
            fields.string("retry_at", WallClock.text(at))
            count("jobs.failed")
            publish("job.failed", fields)
        case .discard(_, let error):
            fields.string("error", error.error)
            count("jobs.failed")
            count("jobs.discarded")
            publish("job.failed", fields)
            publish("job.discarded", fields)
        case .cancelled(_, let error):
            fields.string("error", error)
            count("jobs.cancelled")
            publish("job.cancelled", fields)
        case .release:
            if case .snoozed = outcome { count("jobs.snoozed") }
        }
    }

    func fired(_ schedule: String, job: String, fireAt: Int64, jobID: Int64?) {
        var fields = JSONFields()
        fields.string("schedule", schedule)
        fields.string("job", job)
        fields.string("fire_at", WallClock.text(fireAt))
        if let jobID { fields.number("job_id", Double(jobID)) }
        count("schedules.fired")
        publish("schedule.fired", fields)
    }

    func missed(_ schedule: String, job: String, fireAt: Int64, reason: String, count missed: Int = 1) {
        var fields = JSONFields()
        fields.string("schedule", schedule)
        fields.string("job", job)
        fields.string("fire_at", WallClock.text(fireAt))
        fields.string("reason", reason)
        fields.number("missed", Double(missed))
        kernel.host.pointee.metric_add(kernel.handle, "schedules.missed", Int64(missed))
        publish("schedule.missed", fields)
    }

    private func jobFields(_ job: ClaimedJob) -> JSONFields {
        var fields = JSONFields()
        fields.number("job_id", Double(job.id))
        fields.string("execution_id", "\(job.id).\(job.attempt)")
        fields.string("name", job.name)
        fields.string("queue", job.queue)
        fields.number("attempt", Double(job.attempt))
        if let schedule = job.schedule { fields.string("schedule", schedule) }
        return fields
    }

    private func count(_ metric: String) { kernel.host.pointee.metric_add(kernel.handle, metric, 1) }

    private func publish(_ topic: String, _ fields: JSONFields) { try? kernel.publish(topic, json: fields.bytes) }
}

/// A flat JSON object written field by field.
struct JSONFields {
    private var text = ""

    var bytes: [UInt8] { Array("{\(text)}".utf8) }

    mutating func string(_ key: String, _ value: String) {
        append(key)
        text += "\""
        // Names, queues and ids need no escaping: copied as they are.
        if value.utf8.allSatisfy({ $0 >= 0x20 && $0 != 0x22 && $0 != 0x5C }) {
            text += value
            text += "\""
            return
        }
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": text += "\\\""
            case "\\": text += "\\\\"
            case "\n": text += "\\n"
            case "\r": text += "\\r"
            case "\t": text += "\\t"
            case _ where scalar.value < 0x20: text += String(format: "\\u%04x", scalar.value)
            default: text.unicodeScalars.append(scalar)
            }
        }
        text += "\""
    }

    mutating func number(_ key: String, _ value: Double) {
        append(key)
        text += value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }

    private mutating func append(_ key: String) {
        if !text.isEmpty { text += "," }
        text += "\"\(key)\":"
    }
}
