/// The six cron fields in cronsim's order (seconds first), with their ranges
/// and symbolic names.
enum CronField: Int, CaseIterable, Sendable {
    case second, minute, hour, day, month, weekday

    /// The name used in errors; these are cronsim's `FIELD_NAMES`.
    var name: String {
        switch self {
        case .second: "second"
        case .minute: "minute"
        case .hour: "hour"
        case .day: "day-of-month"
        case .month: "month"
        case .weekday: "day-of-week"
        }
    }

    /// Accepted numbers; day-of-week allows 7 as a second Sunday.
    var range: ClosedRange<Int> {
        switch self {
        case .second, .minute: 0...59
        case .hour: 0...23
        case .day: 1...31
        case .month: 1...12
        case .weekday: 0...7
        }
    }

    /// The value of a symbolic name (`JAN` = 1, `SUN` = 0), matched on the
    /// already upper-cased text exactly as cronsim does.
    func symbol(_ text: String) -> Int? {
        switch self {
        case .month: CronField.months.firstIndex(of: text).map { $0 + 1 }
        case .weekday: CronField.weekdays.firstIndex(of: text)
        default: nil
        }
    }

    var acceptsNames: Bool { self == .month || self == .weekday }

    static let months = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
    static let weekdays = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]
}

/// The items one field selects, the Swift form of cronsim's `set[SpecItem]`:
/// plain numbers plus the special `L`, `LW`, `5L` and `MON#2` items.
struct FieldItems: Equatable, Sendable {
    /// Plain numbers: bit n set when n is selected (all ranges fit in 0...59).
    var values: UInt64 = 0
    /// `L` in day-of-month: the last day of the month.
    var last = false
    /// `LW` in day-of-month: the last weekday (Mon-Fri) of the month.
    var lastWeekday = false
    /// `5L` in day-of-week: bit d for "the last weekday d of the month".
    var lastOfWeekday: UInt8 = 0
    /// `MON#2` in day-of-week: bit d * 8 + n for "the n-th weekday d".
    var nthWeekday: UInt64 = 0

    static func range(_ r: ClosedRange<Int>) -> FieldItems {
        var items = FieldItems()
        for v in r { items.values |= 1 << UInt64(v) }
        return items
    }

    /// The number of items, as `len()` of cronsim's set.
    var count: Int {
        values.nonzeroBitCount + (last ? 1 : 0) + (lastWeekday ? 1 : 0)
            + lastOfWeekday.nonzeroBitCount + nthWeekday.nonzeroBitCount
    }

    /// The plain numbers in ascending order.
    var sortedValues: [Int] { (0..<64).filter { values & (1 << UInt64($0)) != 0 } }

    /// The smallest item the way cronsim's `min()` sees it: `L` and `LW`
    /// are stored as large negative numbers there, so they sort first.
    var minimum: Int? {
        if last || lastWeekday { return -1000 }
        return values == 0 ? nil : values.trailingZeroBitCount
    }

    mutating func formUnion(_ other: FieldItems) {
        values |= other.values
        last = last || other.last
        lastWeekday = lastWeekday || other.lastWeekday
        lastOfWeekday |= other.lastOfWeekday
        nthWeekday |= other.nthWeekday
    }
}
