import CronKit
import Foundation
import KernelSDK

/// The states of a job. `scheduled` waits for its time, `available` for a
/// free slot, `retryable` for its next attempt; the last three are final.
enum JobState: String, Codable, CaseIterable, Sendable {
    case scheduled, available, running, retryable, completed, discarded, cancelled

    static let unfinished: [JobState] = [.scheduled, .available, .running, .retryable]
    static let unfinishedSQL = "('scheduled','available','running','retryable')"
}

/// A job as the store returns it, and as `kernelctl jobs` shows it.
struct JobRecord: Codable, Sendable {
    var id: Int64
    var name: String
    var queue: String
    var state: String
    var priority: Int64
    var payload: String
    var attempt: Int64
    var max_attempts: Int64
    var run_at: String
    var timeout_ms: Int64
    var unique_key: String?
    var schedule: String?
    var fire_at: String?
    var enqueued_by: String
    var inserted_at: String
    var attempted_at: String?
    var finished_at: String?
    var last_error: String?
    var errors: [AttemptError]?

    static let columns = """
        id, name, queue, state, priority, payload, attempt, max_attempts, run_at, timeout_ms, unique_key, \
        schedule, fire_at, enqueued_by, inserted_at, attempted_at, finished_at, last_error, errors
        """

    init(_ row: SQLRow, withErrors: Bool = false) {
        id = row["id"].int ?? 0
        name = row["name"].string ?? ""
        queue = row["queue"].string ?? ""
        state = row["state"].string ?? ""
        priority = row["priority"].int ?? 0
        payload = row["payload"].string ?? "{}"
        attempt = row["attempt"].int ?? 0
        max_attempts = row["max_attempts"].int ?? 0
        run_at = WallClock.text(row["run_at"].int ?? 0)
        timeout_ms = row["timeout_ms"].int ?? 0
        unique_key = row["unique_key"].string
        schedule = row["schedule"].string
        fire_at = row["fire_at"].int.map(WallClock.text)
        enqueued_by = row["enqueued_by"].string ?? ""
        inserted_at = WallClock.text(row["inserted_at"].int ?? 0)
        attempted_at = row["attempted_at"].int.map(WallClock.text)
        finished_at = row["finished_at"].int.map(WallClock.text)
        last_error = row["last_error"].string
        errors = withErrors ? AttemptError.parse(row["errors"].string ?? "") : nil
    }
}

/// One failed attempt, kept in the job's `errors` (one JSON line each).
struct AttemptError: Codable, Sendable {
    var attempt: Int64
    var at: String
    var error: String

    var line: String {
        guard let data = try? JSONEncoder().encode(self) else { return "" }
        return String(decoding: data, as: UTF8.self) + "\n"
    }

    static func parse(_ text: String) -> [AttemptError] {
        text.split(separator: "\n").compactMap { try? JSONDecoder().decode(AttemptError.self, from: Data($0.utf8)) }
    }
}

/// A claimed job, as the dispatcher runs it.
struct ClaimedJob: Sendable {
    let id: Int64
    let name: String
    let queue: String
    let payload: [UInt8]
    let attempt: Int64
    let maxAttempts: Int64
    let timeoutMilliseconds: Int64
    let schedule: String?
    let fireAt: Int64?
    let requestID: String?

    static let columns = "id, name, queue, payload, attempt, max_attempts, timeout_ms, schedule, fire_at, request_id"

    init(_ row: SQLRow) {
        requestID = row["request_id"].string
        id = row["id"].int ?? 0
        name = row["name"].string ?? ""
        queue = row["queue"].string ?? ""
        payload = Array((row["payload"].string ?? "{}").utf8)
        attempt = row["attempt"].int ?? 1
        maxAttempts = row["max_attempts"].int ?? 1
        timeoutMilliseconds = row["timeout_ms"].int ?? 0
        schedule = row["schedule"].string
        fireAt = row["fire_at"].int
    }
}

/// Wall-clock milliseconds and their ISO-8601 text (UTC).
enum WallClock {
    static let utc = TimeZone(secondsFromGMT: 0)!

    static func now() -> Int64 { Int64((Date().timeIntervalSince1970 * 1000).rounded(.down)) }

    static func text(_ milliseconds: Int64) -> String {
        ISO8601Text.format(Date(timeIntervalSince1970: Double(milliseconds) / 1000), in: utc)
    }
}

extension String {
    /// Text a database column takes: PostgreSQL refuses NUL in text, and
    /// one refused outcome must not block the batch it is written with.
    var storable: String { contains("\u{0}") ? replacingOccurrences(of: "\u{0}", with: "\u{FFFD}") : self }
}
