import CronKit
import XCTest

/// Parsing: each syntax form, names, nicknames and the error messages.
final class CronSyntaxTests: XCTestCase {
    func testFieldForms() throws {
        XCTAssertEqual(try fires("5,35 * * * *", after: "2026-01-01T00:10:00Z", in: "UTC", count: 3),
                       ["2026-01-01T00:35:00+00:00", "2026-01-01T01:05:00+00:00", "2026-01-01T01:35:00+00:00"])
        XCTAssertEqual(try fires("0 9-11 * * *", after: "2026-01-01T10:30:00Z", in: "UTC", count: 2),
                       ["2026-01-01T11:00:00+00:00", "2026-01-02T09:00:00+00:00"])
        XCTAssertEqual(try fires("*/20 * * * *", after: "2026-01-01T00:00:00Z", in: "UTC", count: 3),
                       ["2026-01-01T00:20:00+00:00", "2026-01-01T00:40:00+00:00", "2026-01-01T01:00:00+00:00"])
        XCTAssertEqual(try fires("10-50/20 * * * *", after: "2026-01-01T00:00:00Z", in: "UTC", count: 3),
                       ["2026-01-01T00:10:00+00:00", "2026-01-01T00:30:00+00:00", "2026-01-01T00:50:00+00:00"])
        // `a/n` steps from a up to the end of the range, as does cronsim's `a-a/n`.
        for text in ["5/20 * * * *", "5-5/20 * * * *"] {
            XCTAssertEqual(try fires(text, after: "2026-01-01T00:00:00Z", in: "UTC", count: 4),
                           ["2026-01-01T00:05:00+00:00", "2026-01-01T00:25:00+00:00",
                            "2026-01-01T00:45:00+00:00", "2026-01-01T01:05:00+00:00"])
        }
    }

    func testSecondsField() throws {
        XCTAssertEqual(try fires("*/15 * * * * *", after: "2026-01-01T00:00:00Z", in: "UTC", count: 3),
                       ["2026-01-01T00:00:15+00:00", "2026-01-01T00:00:30+00:00", "2026-01-01T00:00:45+00:00"])
    }

    func testNamesAnyCase() throws {
        let a = try fires("0 0 1 jan,Jul *", after: "2026-01-01T00:00:00Z", in: "UTC")
        XCTAssertEqual(a, ["2026-07-01T00:00:00+00:00", "2027-01-01T00:00:00+00:00"])
        let b = try fires("0 0 * * mon-Wed", after: "2026-01-02T00:00:00Z", in: "UTC", count: 3)
        XCTAssertEqual(b, ["2026-01-05T00:00:00+00:00", "2026-01-06T00:00:00+00:00", "2026-01-07T00:00:00+00:00"])
    }

    func testSevenIsSunday() throws {
        let sunday = ["2026-01-04T00:00:00+00:00", "2026-01-11T00:00:00+00:00"]
        for dow in ["0", "7", "SUN", "sun"] {
            XCTAssertEqual(try fires("0 0 * * \(dow)", after: "2026-01-01T00:00:00Z", in: "UTC"), sunday, dow)
        }
    }

    func testNicknames() throws {
        let pairs = [("@yearly", "0 0 1 1 *"), ("@annually", "0 0 1 1 *"), ("@monthly", "0 0 1 * *"),
                     ("@weekly", "0 0 * * 0"), ("@daily", "0 0 * * *"), ("@midnight", "0 0 * * *"),
                     ("@hourly", "0 * * * *"), ("@DAILY", "0 0 * * *")]
        for (nick, text) in pairs {
            for zone in ["Europe/Berlin", "America/Sao_Paulo"] {
                let start = "2018-11-03T12:00:00Z"
                XCTAssertEqual(try fires(nick, after: start, in: zone, count: 3),
                               try fires(text, after: start, in: zone, count: 3), "\(nick) in \(zone)")
            }
        }
        XCTAssertEqual(try CronExpression(" @Daily ").description, "@daily")
    }

    func testDescriptionRoundTrips() throws {
        let e = try CronExpression("  0\t9 * *  mon-fri ")
        XCTAssertEqual(e.description, "0 9 * * MON-FRI")
        XCTAssertEqual(try CronExpression(e.description), e)
        XCTAssertNotEqual(try CronExpression("@daily"), try CronExpression("0 0 * * *"))
    }

    func testErrorMessages() {
        let cases: [(String, String)] = [
            ("0 0 32 * *", "day-of-month: 32 is out of range 1-31"),
            ("60 * * * *", "minute: 60 is out of range 0-59"),
            ("0 24 * * *", "hour: 24 is out of range 0-23"),
            ("0 0 * 13 *", "month: 13 is out of range 1-12"),
            ("0 0 * * 8", "day-of-week: 8 is out of range 0-7"),
            ("60 0 0 * * *", "second: 60 is out of range 0-59"),
            ("* * * *", "wrong number of fields: 4 (expected 5 or 6)"),
            ("* * * * * * *", "wrong number of fields: 7 (expected 5 or 6)"),
            ("", "empty expression (expected 5 or 6 fields)"),
            ("0 0 * * FOO", "day-of-week: unknown name 'FOO'"),
            ("0 0 * foo *", "month: unknown name 'FOO'"),
            ("*/0 * * * *", "minute: step 0 is not allowed"),
            ("*/x * * * *", "minute: step 'X' is not a number"),
            ("0 5-2 * * *", "hour: range 5-2 goes backwards"),
            ("0 0 * * FRI-SUN", "day-of-week: range FRI-SUN goes backwards (write FRI-7 to end on Sunday)"),
            ("0 0 1,,2 * *", "day-of-month: missing value in '1,,2'"),
            ("x * * * *", "minute: 'X' is not a number"),
            ("0 0 15W * *", "day-of-month: '15W': only LW (last weekday) is supported, not nW (nearest weekday)"),
            ("0 0 ? * *", "day-of-month: '?' is not supported (use *)"),
            ("0 0 * * MON#6", "day-of-week: 'MON#6': week number 6 is out of range 1-5"),
            ("0 0 * * XL", "day-of-week: 'XL': 'L' must follow a weekday number, as in 5L (the last Friday)"),
            ("0 0 1#2 * *", "day-of-month: '#' is only allowed in day-of-week, as in MON#2"),
            ("0 0 30 2 *", "day-of-month: day 30 never occurs in the selected months (the longest has 29 days)"),
            ("0 0 31 4,6 *", "day-of-month: day 31 never occurs in the selected months (the longest has 30 days)"),
            ("@reboot", "@reboot is not supported: it has no fire times"),
            ("@every 5m", "@every needs an interval and is not a cron expression; use ScheduleSpec"),
            ("@daily 1", "a nickname such as @daily stands alone, found '@daily 1'"),
        ]
        for (text, message) in cases {
            XCTAssertEqual(parseError(text)?.description, message, text)
        }
        XCTAssertEqual(parseError("0 0 32 * *")?.field, "day-of-month")
        XCTAssertNil(parseError("* * * * *")?.field)
        XCTAssertEqual(parseError("@foo")?.field, nil)
    }

    func testGarbageNeverTraps() {
        // Random fields over the cron alphabet: each expression parses or throws.
        var rng = SplitMix(seed: 7)
        let alphabet = Array("0123456789**,-/#LW?ABCDEFJMNOSTUYlw\u{a0}\u{17f}\u{131}9999999999")
        var accepted = 0
        for _ in 0..<20_000 {
            let fields = (0..<(4 + rng.below(4))).map { _ in
                String((0..<(1 + rng.below(4))).map { _ in alphabet[rng.below(alphabet.count)] })
            }
            if let e = try? CronExpression(fields.joined(separator: " ")) {
                accepted += 1
                _ = e.next(after: Date(timeIntervalSince1970: 1_774_000_000), in: .gmt)
            }
        }
        XCTAssertGreaterThan(accepted, 0)
    }
}

/// A small deterministic generator for fuzzing.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(max(n, 1))) }
}
