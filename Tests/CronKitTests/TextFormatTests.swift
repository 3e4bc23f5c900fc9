import CronKit
import XCTest

/// DurationText, ISO8601Text, zone names and ScheduleSpec.
final class TextFormatTests: XCTestCase {
    func testDurationParse() throws {
        XCTAssertEqual(try DurationText.parse("500ms"), .milliseconds(500))
        XCTAssertEqual(try DurationText.parse("2s"), .seconds(2))
        XCTAssertEqual(try DurationText.parse("5m"), .seconds(300))
        XCTAssertEqual(try DurationText.parse("1h"), .seconds(3600))
        XCTAssertEqual(try DurationText.parse("1d"), .seconds(86_400))
        XCTAssertEqual(try DurationText.parse("1h30m"), .seconds(5400))
        XCTAssertEqual(try DurationText.parse("1d2h3m4s5ms"), .milliseconds(93_784_005))
        XCTAssertEqual(try DurationText.parse(" 90s "), .seconds(90))
        XCTAssertEqual(try DurationText.parse("0"), .zero)
    }

    func testDurationErrors() {
        let cases: [(String, String)] = [
            ("", "empty duration (expected e.g. 90s, 1h30m or 500ms)"),
            ("-5s", "negative durations are not allowed: '-5s'"),
            ("5", "missing unit after 5 (use d, h, m, s or ms): '5'"),
            ("5x", "unknown unit 'x' (use d, h, m, s or ms): '5x'"),
            ("1.5h", "fractions are not supported (write 1h30m, not 1.5h): '1.5h'"),
            ("30m1h", "units must go from largest to smallest, each once: '30m1h'"),
            ("1h1h", "units must go from largest to smallest, each once: '1h1h'"),
            ("h", "expected a number at 'h': 'h'"),
            ("99999999999999999999s", "duration too large: '99999999999999999999s'"),
        ]
        for (text, message) in cases {
            XCTAssertThrowsError(try DurationText.parse(text), text) { error in
                XCTAssertEqual((error as? CronError)?.description, message, text)
            }
        }
    }

    func testDurationFormatRoundTrips() throws {
        XCTAssertEqual(DurationText.format(.seconds(90)), "1m30s")
        XCTAssertEqual(DurationText.format(.milliseconds(500)), "500ms")
        XCTAssertEqual(DurationText.format(.milliseconds(1500)), "1s500ms")
        XCTAssertEqual(DurationText.format(.seconds(86_401)), "1d1s")
        XCTAssertEqual(DurationText.format(.zero), "0s")
        for text in ["1m30s", "500ms", "1d", "2h5s", "1d23h59m59s999ms", "0s"] {
            XCTAssertEqual(DurationText.format(try DurationText.parse(text)), text)
        }
    }

    func testISO8601() throws {
        let berlin = try zone(named: "Europe/Berlin")
        let d = try XCTUnwrap(ISO8601Text.parse("2026-03-29T03:00:00+02:00"))
        XCTAssertEqual(d.timeIntervalSince1970, 1_774_746_000)
        XCTAssertEqual(ISO8601Text.format(d, in: berlin), "2026-03-29T03:00:00+02:00")
        XCTAssertEqual(ISO8601Text.format(d, in: try zone(named: "UTC")), "2026-03-29T01:00:00+00:00")
        XCTAssertEqual(ISO8601Text.parse("2026-03-29T01:00:00Z"), d)
        XCTAssertEqual(ISO8601Text.format(d.addingTimeInterval(-1), in: berlin), "2026-03-29T01:59:59+01:00")
        let ms = try XCTUnwrap(ISO8601Text.parse("2026-03-29T01:00:00.250Z"))
        XCTAssertEqual(ISO8601Text.format(ms, in: .gmt), "2026-03-29T01:00:00.250+00:00")
        let kolkata = try zone(named: "Asia/Kolkata")
        XCTAssertEqual(ISO8601Text.format(d, in: kolkata), "2026-03-29T06:30:00+05:30")
        for text in ["2026-03-29T03:00:00.123+02:00", "1999-12-31T23:59:59-03:00", "2026-10-25T02:30:00+01:00"] {
            let parsed = try XCTUnwrap(ISO8601Text.parse(text), text)
            XCTAssertEqual(ISO8601Text.parse(ISO8601Text.format(parsed, in: berlin)), parsed, text)
        }
        for bad in ["2026-02-30T00:00:00Z", "2026-03-29T03:00:00", "2026-03-29 03:00:00Z", "2026-03-29T24:00:00Z",
                    "2026-03-29T03:00:00.Z", "2026-3-29T03:00:00Z", "2026-03-29T03:00:00+2:00", ""] {
            XCTAssertNil(ISO8601Text.parse(bad), bad)
        }
    }

    func testZoneNames() throws {
        XCTAssertEqual(try zone(named: "Europe/Berlin").identifier, "Europe/Berlin")
        XCTAssertNoThrow(try zone(named: "UTC"))
        XCTAssertNoThrow(try zone(named: "Etc/GMT+5"))
        for bad in ["Mars/Olympus", "", "GMT+5", "europe/berlin"] {
            XCTAssertThrowsError(try zone(named: bad), bad) { error in
                XCTAssertEqual((error as? CronError)?.description, "unknown time zone '\(bad)'")
            }
        }
    }

    func testScheduleSpec() throws {
        XCTAssertEqual(try ScheduleSpec("@every 90s"), .every(.seconds(90)))
        XCTAssertEqual(try ScheduleSpec("@every 1h30m").description, "@every 1h30m")
        XCTAssertEqual(try ScheduleSpec("@EVERY 90s").description, "@every 1m30s")
        XCTAssertEqual(try ScheduleSpec("@every 1500ms"), .every(.milliseconds(1500)))
        XCTAssertEqual(try ScheduleSpec("@hourly"), .cron(try CronExpression("@hourly")))
        XCTAssertEqual(try ScheduleSpec("0 9 * * *").description, "0 9 * * *")
        let messages: [(String, String)] = [
            ("@every 500ms", "@every needs at least 1s, got 500ms"),
            ("@every", "@every needs an interval, e.g. @every 90s"),
            ("@every -5s", "negative durations are not allowed: '-5s'"),
            ("0 0 32 * *", "day-of-month: 32 is out of range 1-31"),
        ]
        for (text, message) in messages {
            XCTAssertThrowsError(try ScheduleSpec(text), text) { error in
                XCTAssertEqual((error as? CronError)?.description, message, text)
            }
        }
    }

    func testScheduleSpecNext() throws {
        let start = Date(timeIntervalSince1970: 1_774_746_000.5)
        let every = try ScheduleSpec("@every 1m30s")
        XCTAssertEqual(every.next(after: start, in: .gmt), start.addingTimeInterval(90))
        XCTAssertEqual(every.next(after: start, in: .gmt, count: 3),
                       [90.0, 180, 270].map { start.addingTimeInterval($0) })
        let cron = try ScheduleSpec("30 2 * * *")
        let berlin = try zone(named: "Europe/Berlin")
        let expected = try CronExpression("30 2 * * *").next(after: start, in: berlin, count: 2)
        XCTAssertEqual(cron.next(after: start, in: berlin, count: 2), expected)
        XCTAssertEqual(cron.next(after: start, in: berlin), expected.first)
    }
}
