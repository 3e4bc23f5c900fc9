/// The parsed form of an expression: which seconds, minutes, hours, days and
/// months match, plus the two flags cronsim derives from the text itself.
struct CronSchedule: Sendable {
    var seconds: UInt64
    var minutes: UInt64
    var hours: UInt64
    var months: UInt64
    /// Day-of-month items, including `L` and `LW`.
    var days: FieldItems
    /// Day-of-week items with 7 folded onto 0: cronsim matches both
    /// `weekday() + 1` and its value modulo 7, so either spelling is Sunday.
    var weekdays: FieldItems
    /// Day-of-month AND day-of-week (Debian: when either field starts with
    /// `*`); otherwise a day matching either one is enough.
    var dayAnd: Bool
    /// Debian's DST fixup: wall-clock search, then gap times move forward.
    var fixup: Bool

    init(fields: [FieldItems], dayAnd: Bool, fixup: Bool) {
        seconds = fields[0].values
        minutes = fields[1].values
        hours = fields[2].values
        days = fields[3]
        months = fields[4].values
        var weekdays = fields[5]
        if weekdays.values & (1 << 7) != 0 { weekdays.values = weekdays.values & ~(1 << 7) | 1 }
        self.weekdays = weekdays
        self.dayAnd = dayAnd
        self.fixup = fixup
    }

    func has(_ set: UInt64, _ value: Int) -> Bool { set & (1 << UInt64(value)) != 0 }

    /// cronsim's `match_dom`.
    func matchDayOfMonth(_ d: (year: Int, month: Int, day: Int)) -> Bool {
        if has(days.values, d.day) { return true }
        if days.lastWeekday, d.day >= 26, d.day == Civil.lastWeekday(year: d.year, month: d.month) { return true }
        if days.last, d.day >= 28, d.day == Civil.daysInMonth(year: d.year, month: d.month) { return true }
        return false
    }

    /// cronsim's `match_dow`, on Sunday = 0 numbering.
    func matchDayOfWeek(_ d: (year: Int, month: Int, day: Int), dayNumber: Int) -> Bool {
        let dow = (Civil.weekday(days: dayNumber) + 1) % 7
        if has(weekdays.values, dow) { return true }
        if weekdays.lastOfWeekday & (1 << UInt8(dow)) != 0,
           d.day + 7 > Civil.daysInMonth(year: d.year, month: d.month) { return true }
        let nth = (d.day + 6) / 7
        return weekdays.nthWeekday & (1 << UInt64(dow * 8 + nth)) != 0
    }

    /// cronsim's `match_day`: AND or OR of the two day fields.
    func matchDay(_ dayNumber: Int) -> Bool {
        let d = Civil.date(days: dayNumber)
        if dayAnd { return matchDayOfMonth(d) && matchDayOfWeek(d, dayNumber: dayNumber) }
        return matchDayOfMonth(d) || matchDayOfWeek(d, dayNumber: dayNumber)
    }
}
