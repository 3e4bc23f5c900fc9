import CronKit
import XCTest

/// Daylight saving transitions, checked against cronsim 2.8 by hand.
final class CronDSTTests: XCTestCase {
    func testBerlinSpringForward() throws {
        // 02:30 does not exist on 2026-03-29: the daily job runs at 03:00 CEST.
        XCTAssertEqual(try fires("30 2 * * *", after: "2026-03-28T12:00:00+01:00", in: "Europe/Berlin"),
                       ["2026-03-29T03:00:00+02:00", "2026-03-30T02:30:00+02:00"])
        XCTAssertEqual(try fires("*/15 * * * *", after: "2026-03-29T01:40:00+01:00", in: "Europe/Berlin"),
                       ["2026-03-29T01:45:00+01:00", "2026-03-29T03:00:00+02:00"])
        // Six fields get no fixup: the day of the change has no run at all.
        XCTAssertEqual(try fires("0 30 2 * * *", after: "2026-03-28T12:00:00+01:00", in: "Europe/Berlin"),
                       ["2026-03-30T02:30:00+02:00", "2026-03-31T02:30:00+02:00"])
    }

    func testBerlinFallBack() throws {
        // 02:30 happens twice on 2026-10-25: the daily job runs once, the first time.
        XCTAssertEqual(try fires("30 2 * * *", after: "2026-10-24T12:00:00+02:00", in: "Europe/Berlin"),
                       ["2026-10-25T02:30:00+02:00", "2026-10-26T02:30:00+01:00"])
        // A wildcard minute follows real time through both 02:xx hours.
        XCTAssertEqual(try fires("*/15 * * * *", after: "2026-10-25T01:40:00+02:00", in: "Europe/Berlin", count: 10),
                       ["2026-10-25T01:45:00+02:00", "2026-10-25T02:00:00+02:00", "2026-10-25T02:15:00+02:00",
                        "2026-10-25T02:30:00+02:00", "2026-10-25T02:45:00+02:00", "2026-10-25T02:00:00+01:00",
                        "2026-10-25T02:15:00+01:00", "2026-10-25T02:30:00+01:00", "2026-10-25T02:45:00+01:00",
                        "2026-10-25T03:00:00+01:00"])
        // Six fields: runs in both passes.
        XCTAssertEqual(try fires("0 30 2 * * *", after: "2026-10-24T12:00:00+02:00", in: "Europe/Berlin", count: 3),
                       ["2026-10-25T02:30:00+02:00", "2026-10-25T02:30:00+01:00", "2026-10-26T02:30:00+01:00"])
    }

    func testWildcardMinuteFollowsRealTime() throws {
        // `*/30 2` has no fixed minute, so no fixup: no run on the day 02:xx
        // does not exist, and runs in both passes of the repeated hour.
        XCTAssertEqual(try fires("*/30 2 * * *", after: "2026-03-28T12:00:00+01:00", in: "Europe/Berlin"),
                       ["2026-03-30T02:00:00+02:00", "2026-03-30T02:30:00+02:00"])
        XCTAssertEqual(try fires("*/30 2 * * *", after: "2026-10-24T12:00:00+02:00", in: "Europe/Berlin", count: 5),
                       ["2026-10-25T02:00:00+02:00", "2026-10-25T02:30:00+02:00", "2026-10-25T02:00:00+01:00",
                        "2026-10-25T02:30:00+01:00", "2026-10-26T02:00:00+01:00"])
    }

    func testWhereCronsimGetsStuck() throws {
        // Chatham, 1996-03-17, clocks 03:45 -> 02:45. cronsim never returns
        // for the first and repeats 03:00+13:45 forever for the second;
        // CronKit answers the first matching instant in real time.
        let start = "1996-03-17T01:27:59+13:45"
        XCTAssertEqual(try fires("0 58 3 * * *", after: start, in: "Pacific/Chatham"),
                       ["1996-03-17T03:58:00+12:45", "1996-03-18T03:58:00+12:45"])
        XCTAssertEqual(try fires("*/58 3 * * *", after: start, in: "Pacific/Chatham", count: 3),
                       ["1996-03-17T03:00:00+13:45", "1996-03-17T03:00:00+12:45", "1996-03-17T03:58:00+12:45"])
    }

    func testStartInSecondPassMayAnswerEarlier() throws {
        // cronsim's fixup searches the wall clock: asked during the second
        // 02:xx, it answers 02:45 of the *first* pass, before the start.
        let answer = try fires("15,45 2 * * *", after: "2026-10-25T02:30:00+01:00", in: "Europe/Berlin", count: 3)
        XCTAssertEqual(answer, ["2026-10-25T02:45:00+02:00", "2026-10-26T02:15:00+01:00", "2026-10-26T02:45:00+01:00"])
    }

    func testNewYork() throws {
        XCTAssertEqual(try fires("30 2 * * *", after: "2026-03-07T12:00:00-05:00", in: "America/New_York"),
                       ["2026-03-08T03:00:00-04:00", "2026-03-09T02:30:00-04:00"])
        XCTAssertEqual(try fires("30 1 * * *", after: "2026-10-31T12:00:00-04:00", in: "America/New_York"),
                       ["2026-11-01T01:30:00-04:00", "2026-11-02T01:30:00-05:00"])
        XCTAssertEqual(try fires("0 * * * *", after: "2026-11-01T00:30:00-04:00", in: "America/New_York", count: 4),
                       ["2026-11-01T01:00:00-04:00", "2026-11-01T01:00:00-05:00",
                        "2026-11-01T02:00:00-05:00", "2026-11-01T03:00:00-05:00"])
    }

    func testLordHoweHalfHourShift() throws {
        // Clocks go 02:00 -> 02:30 on 2026-10-04: 02:15 runs at 02:30.
        XCTAssertEqual(try fires("15 2 * * *", after: "2026-10-03T12:00:00+10:30", in: "Australia/Lord_Howe"),
                       ["2026-10-04T02:30:00+11:00", "2026-10-05T02:15:00+11:00"])
        // Clocks go 02:00 -> 01:30 on 2026-04-05: 01:45 runs once.
        XCTAssertEqual(try fires("45 1 * * *", after: "2026-04-04T12:00:00+11:00", in: "Australia/Lord_Howe"),
                       ["2026-04-05T01:45:00+11:00", "2026-04-06T01:45:00+10:30"])
        XCTAssertEqual(try fires("*/20 1 * * *", after: "2026-04-05T01:30:00+11:00", in: "Australia/Lord_Howe",
                                 count: 3),
                       ["2026-04-05T01:40:00+11:00", "2026-04-05T01:40:00+10:30", "2026-04-06T01:00:00+10:30"])
    }

    func testChathamQuarterHourZone() throws {
        XCTAssertEqual(try fires("0 3 * * *", after: "2026-09-26T12:00:00+12:45", in: "Pacific/Chatham"),
                       ["2026-09-27T03:45:00+13:45", "2026-09-28T03:00:00+13:45"])
    }

    func testSaoPauloMidnightChange() throws {
        // On 2018-11-04 clocks went 00:00 -> 01:00: midnight runs at 01:00.
        XCTAssertEqual(try fires("0 0 * * *", after: "2018-11-03T12:00:00-03:00", in: "America/Sao_Paulo"),
                       ["2018-11-04T01:00:00-02:00", "2018-11-05T00:00:00-02:00"])
        // Six fields: cronsim skips that day when ticking hour by hour...
        XCTAssertEqual(try fires("0 0 0 * * *", after: "2018-11-03T12:00:00-03:00", in: "America/Sao_Paulo"),
                       ["2018-11-05T00:00:00-02:00", "2018-11-06T00:00:00-02:00"])
        // ...but not when it jumps straight to that day's midnight.
        XCTAssertEqual(try fires("0 0 0 4 11 *", after: "2018-11-01T12:00:00-03:00", in: "America/Sao_Paulo", count: 1),
                       ["2018-11-04T01:00:00-02:00"])
    }

    func testZoneWithoutDST() throws {
        XCTAssertEqual(try fires("30 2 * * *", after: "2026-03-28T12:00:00+05:30", in: "Asia/Kolkata"),
                       ["2026-03-29T02:30:00+05:30", "2026-03-30T02:30:00+05:30"])
    }

    func testFoundationKnowsTheTransitions() throws {
        let berlin = try zone(named: "Europe/Berlin")
        let change = try XCTUnwrap(ISO8601Text.parse("2026-03-29T01:00:00Z"))
        XCTAssertEqual(berlin.secondsFromGMT(for: change.addingTimeInterval(-1)), 3600)
        XCTAssertEqual(berlin.secondsFromGMT(for: change), 7200)
        XCTAssertEqual(berlin.nextDaylightSavingTimeTransition(after: change.addingTimeInterval(-86400)), change)
    }
}
