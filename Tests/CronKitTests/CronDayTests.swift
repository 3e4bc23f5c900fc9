import CronKit
import XCTest

/// Day selection: DOM/DOW OR and AND, L, LW, 5L, #, leap days, no match.
final class CronDayTests: XCTestCase {
    let newYear = "2026-01-01T00:00:00Z"

    func testDayOfMonthOrDayOfWeek() throws {
        // Both restricted: either matches (Fridays and the 13th).
        XCTAssertEqual(try fires("0 0 13 * FRI", after: newYear, in: "UTC", count: 4),
                       ["2026-01-02T00:00:00+00:00", "2026-01-09T00:00:00+00:00",
                        "2026-01-13T00:00:00+00:00", "2026-01-16T00:00:00+00:00"])
    }

    func testStarPrefixMeansAnd() throws {
        // A field *starting* with `*` makes the two fields AND (Debian, cronsim).
        XCTAssertEqual(try fires("0 0 *,13 * FRI", after: newYear, in: "UTC", count: 3),
                       ["2026-01-02T00:00:00+00:00", "2026-01-09T00:00:00+00:00", "2026-01-16T00:00:00+00:00"])
        XCTAssertEqual(try fires("0 0 13 * *,FRI", after: newYear, in: "UTC", count: 2),
                       ["2026-01-13T00:00:00+00:00", "2026-02-13T00:00:00+00:00"])
        // `*/2` starts with a star too: odd days that are Mondays.
        XCTAssertEqual(try fires("0 0 */2 * MON", after: newYear, in: "UTC", count: 2),
                       ["2026-01-05T00:00:00+00:00", "2026-01-19T00:00:00+00:00"])
    }

    func testLastDayForms() throws {
        XCTAssertEqual(try fires("0 0 L * *", after: newYear, in: "UTC", count: 3),
                       ["2026-01-31T00:00:00+00:00", "2026-02-28T00:00:00+00:00", "2026-03-31T00:00:00+00:00"])
        XCTAssertEqual(try fires("0 0 LW * *", after: newYear, in: "UTC", count: 3),
                       ["2026-01-30T00:00:00+00:00", "2026-02-27T00:00:00+00:00", "2026-03-31T00:00:00+00:00"])
        XCTAssertEqual(try fires("0 0 * * 5L", after: newYear, in: "UTC", count: 3),
                       ["2026-01-30T00:00:00+00:00", "2026-02-27T00:00:00+00:00", "2026-03-27T00:00:00+00:00"])
        // cronsim ignores a step after L.
        XCTAssertEqual(try fires("0 0 L/5 * *", after: newYear, in: "UTC"),
                       ["2026-01-31T00:00:00+00:00", "2026-02-28T00:00:00+00:00"])
    }

    func testNthWeekday() throws {
        XCTAssertEqual(try fires("0 0 * * MON#2", after: newYear, in: "UTC", count: 2),
                       ["2026-01-12T00:00:00+00:00", "2026-02-09T00:00:00+00:00"])
        XCTAssertEqual(try fires("0 0 * * 7#1", after: newYear, in: "UTC", count: 1), ["2026-01-04T00:00:00+00:00"])
    }

    func testLeapDay() throws {
        XCTAssertEqual(try fires("0 0 29 2 *", after: newYear, in: "UTC", count: 3),
                       ["2028-02-29T00:00:00+00:00", "2032-02-29T00:00:00+00:00", "2036-02-29T00:00:00+00:00"])
    }

    func testImpossibleDayIsAnError() {
        // cronsim raises for a day no selected month has, when the fields AND.
        XCTAssertEqual(parseError("0 0 30 2 *")?.field, "day-of-month")
        XCTAssertEqual(parseError("0 0 31 4,6,9,11 *")?.field, "day-of-month")
        // With both day fields restricted they OR, so Mondays in February fire.
        XCTAssertNil(parseError("0 0 30 2 MON"))
    }

    func testNoMatchWithinFiftyYearsIsNil() throws {
        // Days 1 and 31 of February that are also a fifth Monday: never.
        let cron = try CronExpression("0 0 */30 2 MON#5")
        XCTAssertNil(cron.next(after: Date(timeIntervalSince1970: 1_767_225_600), in: .gmt))
        // A fifth Monday in February is rare but found (Feb 29 on a Monday).
        XCTAssertEqual(try fires("0 0 * 2 MON#5", after: newYear, in: "UTC"),
                       ["2044-02-29T00:00:00+00:00", "2072-02-29T00:00:00+00:00"])
    }

    func testSubSecondStartIsTruncated() throws {
        // cronsim drops microseconds first, so .999 still waits for second 1.
        XCTAssertEqual(try fires("* * * * * *", after: "2026-01-01T00:00:00.999Z", in: "UTC", count: 1),
                       ["2026-01-01T00:00:01+00:00"])
        // A start exactly on a fire time is not returned again.
        XCTAssertEqual(try fires("0 * * * *", after: "2026-01-01T01:00:00Z", in: "UTC", count: 1),
                       ["2026-01-01T02:00:00+00:00"])
    }
}
