/// The duration syntax of the command line tool: a whole number and a unit,
/// repeated from the largest unit to the smallest, e.g. `500ms`, `90s`,
/// `5m`, `1h30m`, `1d`. Units: `d`, `h`, `m`, `s`, `ms`.
///
/// ```swift
/// let d = try DurationText.parse("1h30m")   // .seconds(5400)
/// DurationText.format(.seconds(90))          // "1m30s"
/// ```
public enum DurationText {
    private static let units: [(name: String, millis: Int64)] = [
        ("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000), ("ms", 1),
    ]

    /// Parses a duration. Empty, negative, fractional, unit-less or
    /// out-of-order text throws a `CronError` saying why; `0` alone is zero.
    ///
    /// ```swift
    /// try DurationText.parse("500ms")  // .milliseconds(500)
    /// try DurationText.parse("2s")     // .seconds(2)
    /// try DurationText.parse("-5s")    // throws: negative durations are not allowed: '-5s'
    /// ```
    public static func parse(_ text: String) throws(CronError) -> Duration {
        let s = Array(text.trimmingSpaces.unicodeScalars)
        func fail(_ why: String) -> CronError { CronError(reason: "\(why): '\(text)'") }
        if s.isEmpty { throw CronError(reason: "empty duration (expected e.g. 90s, 1h30m or 500ms)") }
        if s.first == "-" { throw fail("negative durations are not allowed") }
        if s.allSatisfy({ $0 == "0" }) { return .zero }
        var i = 0, total: Int64 = 0, lastUnit = -1
        while i < s.count {
            var number: Int64 = 0, digits = 0
            while i < s.count, ("0"..."9").contains(s[i]) {
                let (times10, o1) = number.multipliedReportingOverflow(by: 10)
                let (sum, o2) = times10.addingReportingOverflow(Int64(s[i].value - 48))
                if o1 || o2 { throw fail("duration too large") }
                number = sum
                digits += 1
                i += 1
            }
            guard digits > 0 else { throw fail("expected a number at '\(rest(s, i))'") }
            if i < s.count, s[i] == "." || s[i] == "," {
                throw fail("fractions are not supported (write 1h30m, not 1.5h)")
            }
            var unitText = ""
            while i < s.count, ("a"..."z").contains(s[i]) || ("A"..."Z").contains(s[i]) {
                unitText.unicodeScalars.append(s[i])
                i += 1
            }
            guard !unitText.isEmpty else { throw fail("missing unit after \(number) (use d, h, m, s or ms)") }
            guard let unit = units.firstIndex(where: { $0.name == unitText }) else {
                throw fail("unknown unit '\(unitText)' (use d, h, m, s or ms)")
            }
            guard unit > lastUnit else { throw fail("units must go from largest to smallest, each once") }
            lastUnit = unit
            let (part, o1) = number.multipliedReportingOverflow(by: units[unit].millis)
            let (sum, o2) = total.addingReportingOverflow(part)
            if o1 || o2 || sum > Int64.max / 1_000_000 { throw fail("duration too large") }
            total = sum
        }
        return .milliseconds(total)
    }

    /// The shortest exact text for a duration, in the units `parse` reads:
    /// `90s` is `1m30s`, 1.5 s is `1s500ms`, zero is `0s`. Parts below a
    /// millisecond (which `parse` never produces) are dropped.
    ///
    /// ```swift
    /// DurationText.format(.seconds(86_400 + 1))  // "1d1s"
    /// DurationText.format(.milliseconds(500))   // "500ms"
    /// ```
    public static func format(_ d: Duration) -> String {
        let (seconds, attoseconds) = d.components
        let millis = Int128(seconds) * 1000 + Int128(attoseconds / 1_000_000_000_000_000)
        if millis == 0 { return "0s" }
        var left = millis.magnitude
        var out = millis < 0 ? "-" : ""
        for unit in units where left >= UInt128(unit.millis) {
            out += "\(left / UInt128(unit.millis))\(unit.name)"
            left %= UInt128(unit.millis)
        }
        return out
    }

    private static func rest(_ s: [Unicode.Scalar], _ i: Int) -> String {
        String(String.UnicodeScalarView(s[i...]))
    }
}

extension String {
    /// The text without leading and trailing white space.
    var trimmingSpaces: String {
        let scalars = Array(unicodeScalars)
        guard let a = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
              let b = scalars.lastIndex(where: { !$0.properties.isWhitespace }) else { return "" }
        return String(String.UnicodeScalarView(scalars[a...b]))
    }
}
