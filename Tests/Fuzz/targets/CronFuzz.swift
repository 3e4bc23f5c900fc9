// Checks CronKit: normalized text re-parses to the same schedule, the next fire time is after the start and matches every field on the zone's wall clock, and durations and timestamps survive format and parse.
import Foundation

/// Zones with unusual rules: 30- and 45-minute shifts, negative DST, a skipped day, +14 h.
private let zones: [TimeZone] = [
    "UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Pacific/Chatham", "Asia/Kolkata",
    "America/Sao_Paulo", "Africa/Casablanca", "Europe/Dublin", "Antarctica/Troll", "America/St_Johns",
    "Asia/Tehran", "Pacific/Apia", "Pacific/Kiritimati", "America/Caracas", "Europe/London",
].compactMap { TimeZone(identifier: $0) }

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var input = FuzzInput(data, size)
    // 1901 to 2038, around the times schedules really start from.
    let start = Date(timeIntervalSince1970: Double(Int64(Int32(truncatingIfNeeded: input.integer(bytes: 4)))))
    let timeZone = zones[Int(input.byte()) % zones.count]
    let text = input.text()
    let other = input.text()

    if let cron = try? CronExpression(text) { checkCron(cron, start: start, zone: timeZone) }
    if let spec = try? ScheduleSpec(text) {
        require((try? ScheduleSpec(spec.description)) == spec, "'\(spec)' does not re-parse to itself")
        if case .every(let interval) = spec { require(interval >= .seconds(1), "interval \(interval) under 1s") }
    }
    if let duration = try? DurationText.parse(other) {
        let formatted = DurationText.format(duration)
        require((try? DurationText.parse(formatted)) == duration, "'\(other)' formats as '\(formatted)', which reads differently")
    }
    if let date = ISO8601Text.parse(other) {
        let formatted = ISO8601Text.format(date, in: timeZone)
        guard let again = ISO8601Text.parse(formatted) else { fail("'\(other)' formats as '\(formatted)', which does not parse") }
        require(abs(again.timeIntervalSince(date)) <= 0.0005 + 1e-6, "'\(other)' formats as '\(formatted)': \(date) vs \(again)")
    }
    _ = try? zone(named: other)
    return 0
}

private func checkCron(_ cron: CronExpression, start: Date, zone: TimeZone) {
    guard let again = try? CronExpression(cron.description) else { fail("'\(cron)' does not re-parse") }
    let (a, b) = (cron.schedule, again.schedule)
    require(again == cron && a.seconds == b.seconds && a.minutes == b.minutes && a.hours == b.hours && a.months == b.months
            && a.days == b.days && a.weekdays == b.weekdays && a.dayAnd == b.dayAnd && a.fixup == b.fixup,
            "'\(cron)' re-parses to a different schedule")

    let fires = cron.next(after: start, in: zone, count: 3)
    require(fires.first == cron.next(after: start, in: zone), "'\(cron)': next and next(count:) disagree")
    let whole = Date(timeIntervalSince1970: start.timeIntervalSince1970.rounded(.down))
    for (index, fire) in fires.enumerated() {
        let previous = index == 0 ? whole : fires[index - 1]
        if a.fixup {
            // Wall-clock mode may answer the first pass of a repeated hour (documented): never earlier than that.
            require(fire > previous.addingTimeInterval(-3 * 3600), "'\(cron)' in \(zone.identifier) after \(previous): \(fire)")
            continue
        }
        require(fire > previous, "'\(cron)' in \(zone.identifier) after \(previous): \(fire), not later")
        // The zone's own offset (Foundation), not the search's arithmetic, gives the wall time.
        let utc = Int(fire.timeIntervalSince1970)
        let wall = Wall(seconds: utc + zone.secondsFromGMT(for: fire))
        require(a.has(a.seconds, wall.second) && a.has(a.minutes, wall.minute) && a.has(a.hours, wall.hour)
                && a.has(a.months, wall.date.month) && a.matchDay(wall.day),
                "'\(cron)' in \(zone.identifier) fires at \(fire) (wall \(wall.date) \(wall.hour):\(wall.minute):\(wall.second)), which it does not match")
    }
}
