/// Parses one upper-cased cron field exactly the way cronsim's `Field.parse`
/// does, branch for branch, so that the same texts are accepted and select
/// the same items; only the error messages are more specific.
struct FieldParser {
    typealias Text = ArraySlice<Unicode.Scalar>

    let field: CronField
    /// The whole field, quoted in some messages.
    let whole: Text

    func parse(_ s: Text) throws(CronError) -> FieldItems {
        if s.elementsEqual(["*"]) { return .range(field.range) }

        if s.contains(",") {
            var items = FieldItems()
            for term in s.split(separator: ",", omittingEmptySubsequences: false) {
                items.formUnion(try parse(term))
            }
            return items
        }

        if field == .weekday, s.contains("L") {
            // cronsim drops the last character and wants digits before it.
            let value = s.dropLast()
            guard !value.isEmpty, value.allSatisfy(isDigit) else {
                throw fail("'\(str(s))': 'L' must follow a weekday number, as in 5L (the last Friday)")
            }
            let weekday = try number(value)
            return FieldItems(lastOfWeekday: 1 << UInt8(weekday % 7))
        }

        if field == .weekday, let hash = s.firstIndex(of: "#") {
            let term = s[..<hash], nthText = s[(hash + 1)...]
            guard let nth = digits(nthText) else {
                throw fail("'\(str(s))': the week number after '#' must be 1-5")
            }
            guard (1...5).contains(nth) else {
                throw fail("'\(str(s))': week number \(str(nthText)) is out of range 1-5")
            }
            let weekday = try number(term) % 7
            return FieldItems(nthWeekday: 1 << UInt64(weekday * 8 + nth))
        }

        if let slash = s.firstIndex(of: "/") {
            let term = s[..<slash], stepText = s[(slash + 1)...]
            guard let step = digits(stepText) else {
                if stepText.isEmpty { throw fail("missing step after '/' in '\(str(whole))'") }
                throw fail("step '\(str(stepText))' is not a number")
            }
            guard step != 0 else { throw fail("step 0 is not allowed") }
            let items = try parse(term)
            // cronsim ignores the step after L and LW.
            if items == FieldItems(last: true) || items == FieldItems(lastWeekday: true) { return items }
            var picked = FieldItems()
            if items.count == 1 {
                // A single start value steps up to the end of the field's range.
                for v in stride(from: items.values.trailingZeroBitCount, through: field.range.upperBound, by: step) {
                    picked.values |= 1 << UInt64(v)
                }
            } else {
                for v in items.sortedValues.enumerated() where v.offset % step == 0 {
                    picked.values |= 1 << UInt64(v.element)
                }
            }
            return picked
        }

        if let dash = s.firstIndex(of: "-") {
            let startText = s[..<dash], endText = s[(dash + 1)...]
            let start = try number(startText), end = try number(endText)
            guard end >= start else {
                let range = "range \(str(startText))-\(str(endText)) goes backwards"
                // SUN is 0, so a weekday range ending on Sunday must say 7.
                if field == .weekday, end == 0 { throw fail("\(range) (write \(str(startText))-7 to end on Sunday)") }
                throw fail(range)
            }
            return .range(start...end)
        }

        if field == .day, s.elementsEqual(["L", "W"]) { return FieldItems(lastWeekday: true) }
        if field == .day, s.elementsEqual(["L"]) { return FieldItems(last: true) }

        var items = FieldItems()
        items.values = 1 << UInt64(try number(s))
        return items
    }

    /// cronsim's `Field.int`: a name of this field or an in-range number.
    private func number(_ s: Text) throws(CronError) -> Int {
        let text = str(s)
        if let v = field.symbol(text) { return v }
        guard let v = digits(s) else { throw badValue(s) }
        guard field.range.contains(v) else {
            throw fail("\(text) is out of range \(field.range.lowerBound)-\(field.range.upperBound)")
        }
        return v
    }

    /// cronsim's `Field._int`: ASCII digits only, nothing else. Huge numbers
    /// are capped; they are out of range or act as an oversized step anyway.
    private func digits(_ s: Text) -> Int? {
        guard !s.isEmpty, s.allSatisfy(isDigit) else { return nil }
        var v = 0
        for ch in s { v = min(v * 10 + Int(ch.value - 48), 1_000_000_000) }
        return v
    }

    /// Explains why `s` is neither a number nor a name of this field.
    private func badValue(_ s: Text) -> CronError {
        let text = str(s)
        if s.isEmpty { return fail("missing value in '\(str(whole))'") }
        if text == "*" { return fail("'*' must stand alone or before a step, as in */5") }
        if text == "?" { return fail("'?' is not supported (use *)") }
        if s.contains("#") { return fail("'#' is only allowed in day-of-week, as in MON#2") }
        if field == .day, s.last == "W" {
            return fail("'\(text)': only LW (last weekday) is supported, not nW (nearest weekday)")
        }
        if field == .day, s.contains("L") { return fail("'\(text)': L and LW must stand alone") }
        if s.contains("L"), field != .weekday, s.allSatisfy({ $0 == "L" || isDigit($0) }) {
            return fail("'L' is only allowed in day-of-month and day-of-week")
        }
        let letters = s.allSatisfy { ("A"..."Z").contains($0) }
        if field.acceptsNames {
            return fail(letters ? "unknown name '\(text)'" : "'\(text)' is not a number or a name")
        }
        return fail("'\(text)' is not a number")
    }

    private func fail(_ reason: String) -> CronError { CronError(field: field.name, reason: reason) }
    private func str(_ s: Text) -> String { String(String.UnicodeScalarView(s)) }
    private func isDigit(_ c: Unicode.Scalar) -> Bool { ("0"..."9").contains(c) }
}
