import Foundation

/// A cron schedule with Debian cron semantics, as implemented by the Python
/// package cronsim 2.8, whose results it reproduces exactly.
///
/// Five fields (`minute hour day-of-month month day-of-week`) or six with
/// seconds first. Each field takes `*`, numbers, lists `a,b`, ranges `a-b`
/// and steps `*/n`, `a-b/n`, `a/n`; months and weekdays also take the names
/// `JAN`-`DEC` and `SUN`-`SAT` (any case); weekday 7 is Sunday too. Also:
/// `L` (last day) and `LW` (last weekday) in day-of-month, `5L` (last
/// Friday) and `MON#2` (second Monday) in day-of-week, and the nicknames
/// `@yearly @annually @monthly @weekly @daily @midnight @hourly`.
///
/// Equality compares the normalized text (`description`), not the set of
/// fire times: `@daily` and `0 0 * * *` are different values.
///
/// ```swift
/// let cron = try CronExpression("30 2 * * MON-FRI")
/// let berlin = try zone(named: "Europe/Berlin")
/// let next = cron.next(after: Date(), in: berlin)
/// ```
public struct CronExpression: Sendable, Equatable, CustomStringConvertible {
    /// The normalized text: fields upper-cased and joined by single spaces,
    /// or the nickname in lower case. Parsing it again gives an equal value.
    ///
    /// ```swift
    /// try CronExpression(" 0  9 * * mon ").description  // "0 9 * * MON"
    /// ```
    public let description: String
    let schedule: CronSchedule

    /// Parses a cron expression or nickname.
    ///
    /// Throws a `CronError` naming the field at fault, for example
    /// `day-of-month: 32 is out of range 1-31`. Like cronsim, it also
    /// refuses a day that no selected month has when both day fields must
    /// match (`0 0 30 2 *`: `day-of-month: ...`).
    ///
    /// ```swift
    /// let weekdays = try CronExpression("0 9 * * 1-5")
    /// let everyTenSeconds = try CronExpression("*/10 * * * * *")
    /// let nightly = try CronExpression("@daily")   // 0 0 * * *
    /// ```
    public init(_ text: String) throws(CronError) {
        let upper = Array(text.uppercased().unicodeScalars)
        let words = upper.split(whereSeparator: isPythonSpace)
        if let first = words.first, first.first == "@" {
            let nickname = String(String.UnicodeScalarView(first)).lowercased()
            if nickname == "@every" { _ = try Self.expand(nickname) }
            guard words.count == 1 else {
                throw CronError(reason: "a nickname such as @daily stands alone, found '\(text)'")
            }
            self.description = nickname
            self.schedule = try Self.parse(Array(try Self.expand(nickname).unicodeScalars))
        } else {
            self.description = words.map { String(String.UnicodeScalarView($0)) }.joined(separator: " ")
            self.schedule = try Self.parse(upper)
        }
    }

    /// Equal when the normalized texts are equal.
    ///
    /// ```swift
    /// try CronExpression("0 0 * * sun") == CronExpression("0 0 * * SUN")  // true
    /// ```
    public static func == (a: CronExpression, b: CronExpression) -> Bool {
        a.description == b.description
    }

    /// The nicknames, mapped to the five-field forms Debian cron documents.
    static let nicknames: [String: String] = [
        "@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *",
        "@weekly": "0 0 * * 0", "@daily": "0 0 * * *", "@midnight": "0 0 * * *",
        "@hourly": "0 * * * *",
    ]

    private static func expand(_ nickname: String) throws(CronError) -> String {
        if let text = nicknames[nickname] { return text }
        if nickname == "@reboot" { throw CronError(reason: "@reboot is not supported: it has no fire times") }
        if nickname == "@every" {
            throw CronError(reason: "@every needs an interval and is not a cron expression; use ScheduleSpec")
        }
        let known = "@yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly"
        throw CronError(reason: "unknown nickname '\(nickname)' (expected one of \(known))")
    }

    /// cronsim's `CronSim.__init__` on upper-cased text.
    private static func parse(_ upper: [Unicode.Scalar]) throws(CronError) -> CronSchedule {
        var parts = upper.split(whereSeparator: isPythonSpace)
        let count = parts.count
        guard count == 5 || count == 6 else {
            if count == 0 { throw CronError(reason: "empty expression (expected 5 or 6 fields)") }
            throw CronError(reason: "wrong number of fields: \(count) (expected 5 or 6)")
        }
        if count == 5 { parts.insert(["0"], at: 0) }
        let dayAnd = parts[3].first == "*" || parts[5].first == "*"
        var fields: [FieldItems] = []
        for field in CronField.allCases {
            let parser = FieldParser(field: field, whole: parts[field.rawValue])
            fields.append(try parser.parse(parts[field.rawValue]))
        }
        try checkDaysExist(days: fields[3], months: fields[4], dayAnd: dayAnd)
        // Debian's DST fixup applies to 5-field expressions at fixed times.
        let fixup = count == 5 && parts[1].first != "*" && parts[2].first != "*"
        return CronSchedule(fields: fields, dayAnd: dayAnd, fixup: fixup)
    }

    /// cronsim refuses day 30 or 31 when no selected month is that long.
    private static func checkDaysExist(days: FieldItems, months: FieldItems, dayAnd: Bool) throws(CronError) {
        guard dayAnd, let first = days.minimum, first > 29 else { return }
        let longest = months.sortedValues.map { $0 == 2 ? 29 : Civil.daysInMonth(year: 2001, month: $0) }.max() ?? 0
        guard first > longest else { return }
        throw CronError(field: CronField.day.name,
                        reason: "day \(first) never occurs in the selected months (the longest has \(longest) days)")
    }

    /// The first fire time strictly after `date` in `zone` (sub-second
    /// parts of `date` are dropped first), or nil when cronsim finds none
    /// within 50 years, e.g. `0 0 */30 2 MON#5`.
    ///
    /// For 5-field expressions with fixed minute and hour (neither field
    /// starts with `*`), the search runs on the wall clock: a time in the
    /// spring-forward gap fires at the first minute after the gap, and a
    /// time in the repeated fall-back hour fires once, at its first
    /// occurrence. Because of that, when `date` lies in the *second* pass
    /// of a repeated hour, the result may be that hour's first pass, which
    /// is earlier than `date` (cronsim does the same). Other expressions
    /// follow real time through both passes.
    ///
    /// ```swift
    /// let cron = try CronExpression("30 2 * * *")
    /// let berlin = try zone(named: "Europe/Berlin")
    /// let start = ISO8601Text.parse("2026-03-28T12:00:00+01:00")!
    /// let fire = cron.next(after: start, in: berlin)!
    /// ISO8601Text.format(fire, in: berlin)  // "2026-03-29T03:00:00+02:00"
    /// ```
    public func next(after date: Date, in zone: TimeZone) -> Date? {
        var search = CronSearch(schedule: schedule, clock: ZoneClock(zone))
        return search.next(after: Self.wholeSecond(date)).map { Date(timeIntervalSince1970: Double($0)) }
    }

    /// The next `count` fire times after `date`, each found from the one
    /// before; fewer when the search runs out.
    ///
    /// ```swift
    /// let cron = try CronExpression("0 */6 * * *")
    /// let times = cron.next(after: Date(), in: .gmt, count: 4)  // 4 dates, 6 h apart
    /// ```
    public func next(after date: Date, in zone: TimeZone, count: Int) -> [Date] {
        var search = CronSearch(schedule: schedule, clock: ZoneClock(zone))
        var result: [Date] = []
        var current = Self.wholeSecond(date)
        while result.count < count, let t = search.next(after: current) {
            result.append(Date(timeIntervalSince1970: Double(t)))
            current = t
        }
        return result
    }

    /// The whole UTC second cronsim starts from: Python first rounds a
    /// timestamp to microseconds (`datetime.fromtimestamp`), then cronsim
    /// drops the microseconds.
    static func wholeSecond(_ date: Date) -> Int {
        let t = date.timeIntervalSince1970
        guard t.isFinite, abs(t) < 1e15 else { return t < 0 ? -Int(1e15) : Int(1e15) }
        var whole = t.rounded(.towardZero)
        let micros = ((t - whole) * 1e6).rounded(.toNearestOrEven)
        if micros >= 1e6 { whole += 1 } else if micros < 0 { whole -= 1 }
        return Int(whole)
    }
}

/// Python's `str.split()` separators: Unicode spaces plus the ASCII
/// separator controls 0x1C-0x1F.
func isPythonSpace(_ c: Unicode.Scalar) -> Bool {
    switch c.value {
    case 0x09...0x0D, 0x1C...0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000:
        return true
    default:
        return false
    }
}
