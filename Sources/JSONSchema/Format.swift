/// The `format` values that are checked; any other format is an annotation
/// and accepts every string. Non-strings always pass `format`.
enum Format: String, Sendable {
    case dateTime = "date-time"
    case date
    case time
    case email
    case uuid
    case uri
    case ipv4

    var message: String {
        switch self {
        case .dateTime: "must be an RFC 3339 date-time, like 2024-01-31T12:00:00Z"
        case .date: "must be a date, like 2024-01-31"
        case .time: "must be an RFC 3339 time, like 12:00:00Z"
        case .email: "must be an email address"
        case .uuid: "must be a uuid"
        case .uri: "must be an absolute uri, with a scheme"
        case .ipv4: "must be an ipv4 address"
        }
    }

    func accepts(_ string: String) -> Bool {
        var string = string
        // Native strings are contiguous UTF-8: check the bytes in place.
        return string.withUTF8 { accepts(utf8: $0) }
    }

    private func accepts(utf8 bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        switch self {
        case .dateTime:
            // RFC 3339 §5.6: full-date "T" full-time; T and Z may be lower case.
            guard bytes.count > 11, bytes[10] == UInt8(ascii: "T") || bytes[10] == UInt8(ascii: "t") else { return false }
            return Format.isDate(.init(rebasing: bytes[0..<10])) && Format.isTime(.init(rebasing: bytes[11...]))
        case .date:
            return Format.isDate(bytes)
        case .time:
            return Format.isTime(bytes)
        case .email:
            // Deliberately simple: one @ between two non-empty parts, no spaces.
            guard let at = bytes.firstIndex(of: UInt8(ascii: "@")), at > 0, at < bytes.count - 1,
                  !bytes[(at + 1)...].contains(UInt8(ascii: "@"))
            else { return false }
            if bytes.contains(where: { $0 <= 0x20 || $0 == 0x7F }) { return false }
            guard bytes.contains(where: { $0 >= 0x80 }) else { return true }
            return !String(decoding: bytes, as: UTF8.self).unicodeScalars.contains { $0.properties.isWhitespace }
        case .uuid:
            guard bytes.count == 36 else { return false }
            for (index, byte) in bytes.enumerated() {
                let ok = index == 8 || index == 13 || index == 18 || index == 23 ? byte == UInt8(ascii: "-") : Format.isHex(byte)
                if !ok { return false }
            }
            return true
        case .uri:
            // scheme ":" rest (RFC 3986 §3.1), with nothing a URI cannot hold unescaped.
            guard let colon = bytes.firstIndex(of: UInt8(ascii: ":")), colon > 0, Format.isLetter(bytes[0]) else { return false }
            for byte in bytes[1..<colon] where !(Format.isLetter(byte) || Format.isDigit(byte)
                || byte == UInt8(ascii: "+") || byte == UInt8(ascii: "-") || byte == UInt8(ascii: ".")) {
                return false
            }
            return !bytes.contains { byte in
                switch byte {
                case 0...0x20, 0x7F, UInt8(ascii: "<"), UInt8(ascii: ">"), UInt8(ascii: "\""), UInt8(ascii: "{"), UInt8(ascii: "}"),
                     UInt8(ascii: "|"), UInt8(ascii: "\\"), UInt8(ascii: "^"), UInt8(ascii: "`"): true
                default: false
                }
            }
        case .ipv4:
            let parts = bytes.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
            return parts.count == 4 && parts.allSatisfy { part in
                // 0-255 in decimal, with no leading zeros (they read as octal elsewhere).
                guard (1...3).contains(part.count), part.count == 1 || part.first != UInt8(ascii: "0"),
                      let value = Format.decimal(part)
                else { return false }
                return value <= 255
            }
        }
    }

    /// full-date: YYYY-MM-DD, with the day checked against the month and leap years.
    private static func isDate(_ b: UnsafeBufferPointer<UInt8>) -> Bool {
        guard b.count == 10, b[4] == UInt8(ascii: "-"), b[7] == UInt8(ascii: "-"),
              let year = decimal(b[0..<4]), let month = decimal(b[5..<7]), let day = decimal(b[8..<10]),
              (1...12).contains(month)
        else { return false }
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
        let days = month == 2 ? (leap ? 29 : 28) : [4, 6, 9, 11].contains(month) ? 30 : 31
        return (1...days).contains(day)
    }

    /// full-time: HH:MM:SS[.fraction](Z|±HH:MM). A leap second (:60) is only
    /// valid at 23:59 UTC.
    private static func isTime(_ b: UnsafeBufferPointer<UInt8>) -> Bool {
        guard b.count >= 9, b[2] == UInt8(ascii: ":"), b[5] == UInt8(ascii: ":"),
              let hour = decimal(b[0..<2]), let minute = decimal(b[3..<5]), let second = decimal(b[6..<8]),
              hour <= 23, minute <= 59, second <= 60
        else { return false }
        var index = 8
        if b[index] == UInt8(ascii: ".") {
            index += 1
            let start = index
            while index < b.count, isDigit(b[index]) { index += 1 }
            guard index > start, index < b.count else { return false }
        }
        var offsetMinutes = 0
        switch b[index] {
        case UInt8(ascii: "Z"), UInt8(ascii: "z"):
            guard index + 1 == b.count else { return false }
        case UInt8(ascii: "+"), UInt8(ascii: "-"):
            guard index + 6 == b.count, b[index + 3] == UInt8(ascii: ":"),
                  let offsetHour = decimal(b[index + 1..<index + 3]), let offsetMinute = decimal(b[index + 4..<index + 6]),
                  offsetHour <= 23, offsetMinute <= 59
            else { return false }
            offsetMinutes = (offsetHour * 60 + offsetMinute) * (b[index] == UInt8(ascii: "+") ? 1 : -1)
        default:
            return false
        }
        if second == 60 {
            let utc = ((hour * 60 + minute - offsetMinutes) % 1440 + 1440) % 1440
            return utc == 23 * 60 + 59
        }
        return true
    }

    /// The value of a run of ASCII digits; nil if any byte is not one.
    private static func decimal(_ bytes: Slice<UnsafeBufferPointer<UInt8>>) -> Int? {
        var value = 0
        for byte in bytes {
            guard isDigit(byte) else { return nil }
            value = value * 10 + Int(byte - UInt8(ascii: "0"))
        }
        return bytes.isEmpty ? nil : value
    }

    private static func isDigit(_ byte: UInt8) -> Bool { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) }
    private static func isLetter(_ byte: UInt8) -> Bool { (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte | 0x20) }

    private static func isHex(_ byte: UInt8) -> Bool {
        isDigit(byte) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte | 0x20)
    }
}
