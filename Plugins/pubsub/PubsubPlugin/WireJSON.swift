import EnvelopeJSON
import Foundation

/// The few JSON pieces the wire form needs, written straight into bytes.
enum WireJSON {
    static func string(_ text: String, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        // Most strings (topics, ids, names) need no escape: one append.
        if text.utf8.allSatisfy({ $0 >= 0x20 && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") }) {
            out.append(contentsOf: text.utf8)
            out.append(UInt8(ascii: "\""))
            return
        }
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out.append(contentsOf: [0x5C, 0x22])
            case UInt8(ascii: "\\"): out.append(contentsOf: [0x5C, 0x5C])
            case 0x0A: out.append(contentsOf: [0x5C, UInt8(ascii: "n")])
            case 0x0D: out.append(contentsOf: [0x5C, UInt8(ascii: "r")])
            case 0x09: out.append(contentsOf: [0x5C, UInt8(ascii: "t")])
            case 0..<0x20:
                out.append(contentsOf: Array(String(format: "\\u%04x", byte).utf8))
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    static func now() -> Int64 { Int64((Date().timeIntervalSince1970 * 1000).rounded(.down)) }

    /// A JSON payload as is, on one line (SSE `data:` needs that: line
    /// breaks in valid JSON are whitespace, never inside a string); anything
    /// else as a string.
    /// `value`'s form of a payload, as stored: read back, it is written as is.
    static func normalized(_ bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        value(bytes, into: &out)
        return out
    }

    static func value(_ bytes: [UInt8], into out: inout [UInt8]) {
        guard bytes.withUnsafeBytes({ JSONScanner.isValue($0) }) else {
            return string(String(decoding: bytes, as: UTF8.self), into: &out)
        }
        if bytes.contains(where: { $0 == 0x0A || $0 == 0x0D }) {
            out.append(contentsOf: bytes.map { $0 == 0x0A || $0 == 0x0D ? 0x20 : $0 })
        } else {
            out.append(contentsOf: bytes)
        }
    }

    /// RFC 3339 in UTC with milliseconds: `2026-12-01T10:00:00.123Z`.
    static func timestamp(_ milliseconds: Int64) -> String {
        String(decoding: timestampBytes(milliseconds), as: UTF8.self)
    }

    /// The same, as bytes, without a formatter: it is written for every event.
    static func timestampBytes(_ milliseconds: Int64) -> [UInt8] {
        let days = milliseconds >= 0 ? milliseconds / 86_400_000 : (milliseconds - 86_399_999) / 86_400_000
        let inDay = milliseconds - days * 86_400_000
        // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yoe + era * 400 + (month <= 2 ? 1 : 0)
        var out: [UInt8] = []
        out.reserveCapacity(24)
        func digits(_ value: Int64, _ width: Int) {
            var divisor: Int64 = 1
            for _ in 1..<width { divisor *= 10 }
            var rest = value
            while divisor > 0 {
                out.append(UInt8(48 + (rest / divisor) % 10))
                rest %= divisor
                divisor /= 10
            }
        }
        digits(year, 4); out.append(UInt8(ascii: "-")); digits(month, 2); out.append(UInt8(ascii: "-")); digits(day, 2)
        out.append(UInt8(ascii: "T")); digits(inDay / 3_600_000, 2); out.append(UInt8(ascii: ":"))
        digits(inDay / 60_000 % 60, 2); out.append(UInt8(ascii: ":")); digits(inDay / 1_000 % 60, 2)
        out.append(UInt8(ascii: ".")); digits(inDay % 1_000, 3); out.append(UInt8(ascii: "Z"))
        return out
    }

    /// Milliseconds of an RFC 3339 time (`Z` or an offset, optional fraction).
    static func milliseconds(of text: String) -> Int64? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = formatter.date(from: text) { return Int64((date.timeIntervalSince1970 * 1000).rounded()) }
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.date(from: text).map { Int64(($0.timeIntervalSince1970 * 1000).rounded()) }
    }
}
