import Foundation

/// RFC 3339 / ISO 8601 timestamps with the zone's offset at that instant,
/// e.g. `2026-03-29T03:00:00+02:00`; milliseconds appear only when non-zero.
///
/// ```swift
/// let berlin = try zone(named: "Europe/Berlin")
/// let d = ISO8601Text.parse("2026-03-29T01:00:00Z")!
/// ISO8601Text.format(d, in: berlin)  // "2026-03-29T03:00:00+02:00"
/// ```
public enum ISO8601Text {
    /// Formats `date` (rounded to the millisecond) as wall time in `zone`
    /// with that zone's UTC offset at the instant; UTC is `+00:00`, not `Z`.
    ///
    /// ```swift
    /// ISO8601Text.format(Date(timeIntervalSince1970: 0.5), in: .gmt)
    /// // "1970-01-01T00:00:00.500+00:00"
    /// ```
    public static func format(_ date: Date, in zone: TimeZone) -> String {
        let t = date.timeIntervalSince1970
        let millis = t.isFinite && abs(t) < 1e14 ? Int((t * 1000).rounded()) : 0
        let seconds = Civil.floorDiv(millis, 1000), fraction = Civil.floorMod(millis, 1000)
        let offset = zone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(seconds)))
        let wall = Wall(seconds: seconds + offset)
        let d = wall.date
        var out = "\(pad(d.year, 4))-\(pad(d.month, 2))-\(pad(d.day, 2))"
        out += "T\(pad(wall.hour, 2)):\(pad(wall.minute, 2)):\(pad(wall.second, 2))"
        if fraction != 0 { out += ".\(pad(fraction, 3))" }
        let a = abs(offset)
        out += "\(offset < 0 ? "-" : "+")\(pad(a / 3600, 2)):\(pad(a / 60 % 60, 2))"
        if a % 60 != 0 { out += ":\(pad(a % 60, 2))" }  // historic local mean times
        return out
    }

    /// Parses `YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)`; returns nil
    /// for anything else, including impossible dates and missing offsets.
    ///
    /// ```swift
    /// ISO8601Text.parse("2026-03-29T03:00:00+02:00")  // 2026-03-29 01:00 UTC
    /// ISO8601Text.parse("2026-03-29T01:00:00.250Z")   // with 250 ms
    /// ISO8601Text.parse("2026-02-30T00:00:00Z")       // nil
    /// ```
    public static func parse(_ text: String) -> Date? {
        var p = Scanner(Array(text.utf8))
        guard let year = p.number(4), p.skip("-"), let month = p.number(2), p.skip("-"),
              let day = p.number(2), p.skip("T") || p.skip("t"),
              let hour = p.number(2), p.skip(":"), let minute = p.number(2), p.skip(":"),
              let second = p.number(2) else { return nil }
        guard (1...12).contains(month), (1...Civil.daysInMonth(year: year, month: month)).contains(day),
              hour < 24, minute < 60, second < 60 else { return nil }
        var fraction = 0.0
        if p.skip(".") {
            var scale = 0.1, digits = 0
            while let digit = p.number(1) {
                fraction += Double(digit) * scale
                scale /= 10
                digits += 1
            }
            guard digits > 0 else { return nil }
        }
        var offset = 0
        if !(p.skip("Z") || p.skip("z")) {
            let sign = p.skip("+") ? 1 : p.skip("-") ? -1 : 0
            guard sign != 0, let oh = p.number(2), p.skip(":"), let om = p.number(2),
                  oh < 24, om < 60 else { return nil }
            offset = sign * (oh * 3600 + om * 60)
            if p.skip(":") {
                guard let os = p.number(2), os < 60 else { return nil }
                offset += sign * os
            }
        }
        guard p.atEnd else { return nil }
        let wall = Civil.days(year: year, month: month, day: day) * Civil.secondsPerDay
            + hour * 3600 + minute * 60 + second
        return Date(timeIntervalSince1970: Double(wall - offset) + fraction)
    }

    private static func pad(_ n: Int, _ width: Int) -> String {
        let digits = String(abs(n))
        return (n < 0 ? "-" : "") + String(repeating: "0", count: max(0, width - digits.count)) + digits
    }

    /// A cursor over ASCII bytes.
    private struct Scanner {
        let bytes: [UInt8]
        var i = 0
        init(_ bytes: [UInt8]) { self.bytes = bytes }
        var atEnd: Bool { i == bytes.count }

        mutating func skip(_ c: Character) -> Bool {
            guard i < bytes.count, bytes[i] == c.asciiValue else { return false }
            i += 1
            return true
        }

        /// Exactly `width` digits.
        mutating func number(_ width: Int) -> Int? {
            guard i + width <= bytes.count else { return nil }
            var n = 0
            for b in bytes[i..<(i + width)] {
                guard (48...57).contains(b) else { return nil }
                n = n * 10 + Int(b - 48)
            }
            i += width
            return n
        }
    }
}
