/// Proleptic Gregorian calendar arithmetic on "wall seconds": seconds since
/// 1970-01-01 00:00:00 of a local clock, with no time zone attached.
///
/// This mirrors Python's naive `datetime`, which cronsim works with. Plain
/// integer arithmetic keeps the search loops fast and exact; Foundation is
/// only asked for the zone's UTC offsets (see `ZoneClock`).
enum Civil {
    static let secondsPerDay = 86_400

    /// Days since 1970-01-01 of a calendar date (H. Hinnant's algorithm).
    static func days(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// The calendar date of a day number from `days(year:month:day:)`.
    static func date(days: Int) -> (year: Int, month: Int, day: Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    /// Python's `date.weekday()`: Monday = 0 ... Sunday = 6.
    static func weekday(days: Int) -> Int { floorMod(days + 3, 7) }

    static func isLeap(_ year: Int) -> Bool { year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) }

    static func daysInMonth(year: Int, month: Int) -> Int {
        switch month {
        case 2: isLeap(year) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// cronsim's `last_weekday`: the last Monday-to-Friday date of a month.
    static func lastWeekday(year: Int, month: Int) -> Int {
        let last = daysInMonth(year: year, month: month)
        switch weekday(days: days(year: year, month: month, day: last)) {
        case 6: return last - 2
        case 5: return last - 1
        default: return last
        }
    }

    static func floorDiv(_ a: Int, _ b: Int) -> Int { (a - floorMod(a, b)) / b }
    static func floorMod(_ a: Int, _ b: Int) -> Int { let r = a % b; return r < 0 ? r + b : r }
}

/// A local wall-clock time, broken down on demand.
struct Wall {
    var seconds: Int

    var day: Int { Civil.floorDiv(seconds, Civil.secondsPerDay) }
    var secondOfDay: Int { Civil.floorMod(seconds, Civil.secondsPerDay) }
    var hour: Int { secondOfDay / 3600 }
    var minute: Int { secondOfDay / 60 % 60 }
    var second: Int { secondOfDay % 60 }
    var date: (year: Int, month: Int, day: Int) { Civil.date(days: day) }
    var year: Int { date.year }

    /// Midnight of a day number, like `datetime.combine(day, time())`.
    static func midnight(_ day: Int) -> Wall { Wall(seconds: day * Civil.secondsPerDay) }
}
