import CronKit
import Foundation
import KernelSDK

/// Request bodies of the operator endpoints (what `kernelctl` sends).
/// Durations are text (`500ms`, `2s`, `5m`, `1h`), times ISO-8601.
struct JobID: Codable, Sendable { var id: Int64 }
struct JobFilter: Codable, Sendable { var queue: String?; var state: String?; var limit: Int? }
struct NameRequest: Codable, Sendable { var name: String; var limit: Int? }

struct EnqueueRequest: Codable, Sendable {
    var name: String
    /// The payload's JSON text.
    var payload: String?
    var delay: String?
    var at: String?
    var queue: String?
    var unique_key: String?
    var priority: Int32?
    var max_attempts: UInt32?
    var timeout: String?

    func options() throws(PluginError) -> JobOptions {
        var options = JobOptions(queue: queue, priority: priority ?? 0, uniqueKey: unique_key, maxAttempts: max_attempts)
        if let delay { options.delay = try parseDuration(delay, "delay") }
        if let at {
            guard let date = ISO8601Text.parse(at) else { throw PluginError(.invalidArgument, "at: '\(at)' is not an ISO-8601 time") }
            options.runAt = date
        }
        if let timeout { options.timeout = try parseDuration(timeout, "timeout") }
        return options
    }
}


struct ScheduleRequest: Codable, Sendable {
    var name: String
    var spec: String?
    var job: String?
    var payload: String?
    var time_zone: String?
    var queue: String?
    var overlap: String?
    var misfire: String?
}

struct NextRequest: Codable, Sendable { var spec: String; var time_zone: String?; var from: String?; var count: Int? }

func parseDuration(_ text: String, _ what: String) throws(PluginError) -> Duration {
    do throws(CronError) {
        return try DurationText.parse(text)
    } catch {
        throw PluginError(.invalidArgument, "\(what): \(error)")
    }
}

/// Checks a spec and a zone as the engine will use them: the error names
/// the field and the reason.
func checkSchedule(spec: String, zoneName: String) throws(PluginError) {
    do throws(CronError) {
        _ = try ScheduleSpec(spec)
        _ = try zone(named: zoneName)
    } catch {
        throw PluginError(.invalidArgument, "\(error)")
    }
}

/// `JSONSerialization` check of a payload's text: the handler gets valid JSON.
func checkJSON(_ text: String, _ what: String) throws(PluginError) {
    guard (try? JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])) != nil else {
        throw PluginError(.invalidArgument, "\(what) is not valid JSON")
    }
}
