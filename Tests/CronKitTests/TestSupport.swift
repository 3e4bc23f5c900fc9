import CronKit
import Foundation

/// Fire times as ISO 8601 text in the zone, after a start given the same way.
func fires(_ expression: String, after start: String, in zoneName: String, count: Int = 2) throws -> [String] {
    let tz = try zone(named: zoneName)
    guard let date = ISO8601Text.parse(start) else { throw CronError(reason: "bad test start \(start)") }
    return try CronExpression(expression).next(after: date, in: tz, count: count).map { ISO8601Text.format($0, in: tz) }
}

/// The error an expression throws, or nil when it parses.
func parseError(_ expression: String) -> CronError? {
    do {
        _ = try CronExpression(expression)
        return nil
    } catch {
        return error
    }
}
