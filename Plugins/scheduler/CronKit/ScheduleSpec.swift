import Foundation

/// What a job's schedule says: a cron expression or a fixed interval.
///
/// ```swift
/// let nightly = try ScheduleSpec("30 2 * * *")        // .cron(...)
/// let often = try ScheduleSpec("@every 1h30m")       // .every(.seconds(5400))
/// let next = often.next(after: Date(), in: .gmt)     // now + 90 minutes
/// ```
public enum ScheduleSpec: Sendable, Equatable, CustomStringConvertible {
    /// Fires at the times a cron expression selects.
    case cron(CronExpression)
    /// Fires every interval (at least one second) after the previous time.
    case every(Duration)

    /// Parses cron text, a nickname such as `@daily`, or `@every <duration>`
    /// (see `DurationText`). Intervals under one second are refused.
    ///
    /// ```swift
    /// try ScheduleSpec("@every 90s")    // .every(.seconds(90))
    /// try ScheduleSpec("@every 500ms")  // throws: @every needs at least 1s, got 500ms
    /// try ScheduleSpec("@hourly")       // .cron(0 * * * *)
    /// ```
    public init(_ text: String) throws(CronError) {
        let trimmed = text.trimmingSpaces
        let head = trimmed.prefix { !$0.isWhitespace }
        guard head.lowercased() == "@every" else {
            self = .cron(try CronExpression(text))
            return
        }
        let interval = String(trimmed.dropFirst(head.count)).trimmingSpaces
        if interval.isEmpty { throw CronError(reason: "@every needs an interval, e.g. @every 90s") }
        let d = try DurationText.parse(interval)
        guard d >= .seconds(1) else {
            throw CronError(reason: "@every needs at least 1s, got \(DurationText.format(d))")
        }
        self = .every(d)
    }

    /// The normalized text: the cron expression's, or `@every 1m30s`.
    ///
    /// ```swift
    /// try ScheduleSpec("@every 90s").description  // "@every 1m30s"
    /// ```
    public var description: String {
        switch self {
        case .cron(let expression): expression.description
        case .every(let interval): "@every \(DurationText.format(interval))"
        }
    }

    /// The next fire time after `date`: the cron expression's next time in
    /// `zone`, or `date + interval` (the zone does not matter then).
    ///
    /// ```swift
    /// let spec = try ScheduleSpec("@every 5m")
    /// let now = Date()
    /// spec.next(after: now, in: .gmt)  // now + 300 s
    /// ```
    public func next(after date: Date, in zone: TimeZone) -> Date? {
        switch self {
        case .cron(let expression): expression.next(after: date, in: zone)
        case .every(let interval): date.addingTimeInterval(Self.seconds(interval))
        }
    }

    /// The next `count` fire times after `date`; for an interval,
    /// `date + interval`, `date + 2 * interval`, ...
    ///
    /// ```swift
    /// let start = Date()
    /// try ScheduleSpec("@every 1h").next(after: start, in: .gmt, count: 3)
    /// // start + 1 h, start + 2 h, start + 3 h
    /// ```
    public func next(after date: Date, in zone: TimeZone, count: Int) -> [Date] {
        switch self {
        case .cron(let expression):
            return expression.next(after: date, in: zone, count: count)
        case .every(let interval):
            let step = Self.seconds(interval)
            return count > 0 ? (1...count).map { date.addingTimeInterval(step * Double($0)) } : []
        }
    }

    private static func seconds(_ d: Duration) -> Double {
        let (s, atto) = d.components
        return Double(s) + Double(atto) / 1e18
    }
}
