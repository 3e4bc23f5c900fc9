/// cronsim's `CronSim.__next__` for one step, ported method by method
/// (`tick`, `advance_*`, the 50-year limit and the DST fixup), so that it
/// lands on the same instants, quirks included. The state is a wall time
/// plus PEP 495 fold, like cronsim's `self.dt`; in fixup mode it is naive
/// (plain wall-clock arithmetic), as in cronsim.
struct CronSearch {
    let schedule: CronSchedule
    var clock: ZoneClock
    private var wall = Wall(seconds: 0)
    private var fold = 0

    /// A safety net against endless loops should zone data ever disagree
    /// with itself; real searches need a tiny fraction of these ticks.
    private var budget = 0
    /// Loop-top states seen by `advance` in real-time mode, to spot cycles.
    private var seen = Set<Int>()

    private enum Outcome { case found, exhausted, cycle(utc: Int) }

    init(schedule: CronSchedule, clock: ZoneClock) {
        self.schedule = schedule
        self.clock = clock
    }

    /// The first fire time after the whole UTC second `start`, in UTC
    /// seconds, or nil when cronsim would stop (no match within 50 years).
    ///
    /// In a few fall-back hours cronsim never stops, or answers a time that
    /// is not after the start (so its iterator repeats one time forever);
    /// see `scan`. There the answer is the first matching instant instead.
    mutating func next(after start: Int) -> Int? {
        var start = start
        for _ in 0..<3 {
            let from: Int
            switch step(after: start) {
            case .exhausted:
                return nil
            case .found:
                let fire = result()
                // Only wall-clock (fixup) mode may answer earlier, by design.
                if schedule.fixup || fire > start { return fire }
                from = start + 1
            case .cycle(let utc):
                from = max(start + 1, utc)
            }
            if let hit = scan(from: from, seconds: Self.scanWindow) { return hit }
            start = from + Self.scanWindow - 1
        }
        return nil
    }

    private mutating func step(after start: Int) -> Outcome {
        budget = 20_000_000
        (wall, fold) = clock.wall(utc: start)
        guard (1...9999).contains(wall.year) else { return .exhausted }
        if schedule.fixup { fold = 0 }
        tick(1)
        return advance()
    }

    private mutating func result() -> Int {
        guard schedule.fixup else { return clock.utc(wall, fold: fold) }
        // A time in the spring-forward gap runs at the first real minute.
        var minutes = 0
        while clock.isImaginary(wall), minutes < 2 * 24 * 60 {
            wall.seconds += 60
            minutes += 1
        }
        return clock.utc(wall, fold: 0)
    }

    /// Moves by `seconds` of real time (aware) or of wall time (fixup).
    private mutating func tick(_ seconds: Int) {
        budget -= 1
        if schedule.fixup {
            wall.seconds += seconds
        } else {
            (wall, fold) = clock.wall(utc: clock.utc(wall, fold: fold) + seconds)
        }
    }

    private mutating func advance() -> Outcome {
        let startYear = wall.year
        seen.removeAll(keepingCapacity: true)
        while budget > 0 {
            advanceMonth()
            let year = wall.year
            if year > startYear + 50 || year > 9999 { return .exhausted }
            // Only real-time mode can revisit a state (wall-clock mode only
            // moves forward), and a revisit means cronsim would never stop.
            if !schedule.fixup, !seen.insert(wall.seconds &* 2 &+ fold).inserted {
                return .cycle(utc: clock.utc(wall, fold: fold))
            }
            if advanceDay() { continue }
            if advanceHour() { continue }
            if advanceMinute() { continue }
            if advanceSecond() { continue }
            return .found
        }
        return .exhausted
    }

    private static let scanWindow = 2 * Civil.secondsPerDay

    /// Where cronsim goes wrong, the first instant from `from` whose wall
    /// time matches every field. Example: `0 58 3 * * *` in Pacific/Chatham
    /// on a day the clocks go 03:45 -> 02:45: the minute step crosses into
    /// the repeat (02:58), the hour step jumps back before it (03:00), and
    /// so on forever; `*/58 3 * * *` there answers 03:00 again and again.
    private mutating func scan(from: Int, seconds: Int) -> Int? {
        for u in from..<(from + seconds) {
            let (w, _) = clock.wall(utc: u)
            if schedule.has(schedule.seconds, w.second), schedule.has(schedule.minutes, w.minute),
               schedule.has(schedule.hours, w.hour), schedule.has(schedule.months, w.date.month),
               schedule.matchDay(w.day) {
                return u
            }
        }
        return nil
    }

    private mutating func advanceMonth() {
        var d = wall.date
        if schedule.has(schedule.months, d.month) { return }
        while !schedule.has(schedule.months, d.month) {
            d = d.month == 12 ? (d.year + 1, 1, 1) : (d.year, d.month + 1, 1)
        }
        wall = .midnight(Civil.days(year: d.year, month: d.month, day: d.day))
        fold = 0
    }

    private mutating func advanceDay() -> Bool {
        var day = wall.day
        if schedule.matchDay(day) { return false }
        repeat {
            day += 1
            // A new month: go back and re-check the month first.
            if Civil.date(days: day).day == 1 { break }
        } while !schedule.matchDay(day)
        wall = .midnight(day)
        fold = 0
        return true
    }

    private mutating func advanceHour() -> Bool {
        if schedule.has(schedule.hours, wall.hour) { return false }
        wall.seconds -= wall.secondOfDay % 3600
        repeat {
            tick(3600)
        } while !schedule.has(schedule.hours, wall.hour) && wall.hour != 0 && budget > 0
        return true
    }

    private mutating func advanceMinute() -> Bool {
        let minutes = schedule.minutes
        if schedule.has(minutes, wall.minute) { return false }
        wall.seconds -= wall.second
        if minutes.nonzeroBitCount == 1 {
            tick(Civil.floorMod(minutes.trailingZeroBitCount - wall.minute, 60) * 60)
        }
        while !schedule.has(minutes, wall.minute), budget > 0 {
            tick(60)
            if wall.minute == 0 { break }
        }
        return true
    }

    private mutating func advanceSecond() -> Bool {
        let seconds = schedule.seconds
        if schedule.has(seconds, wall.second) { return false }
        if seconds.nonzeroBitCount == 1 {
            tick(Civil.floorMod(seconds.trailingZeroBitCount - wall.second, 60))
        }
        while !schedule.has(seconds, wall.second), budget > 0 {
            tick(1)
            if wall.second == 0 { break }
        }
        return true
    }
}
