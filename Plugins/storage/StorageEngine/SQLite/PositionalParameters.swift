/// Plugins write parameters `$1, $2, ...` on both backends. SQLite looks a
/// numbered or named parameter up by a linear search when it prepares and
/// binds, so a statement with thousands of them (a multi-row insert) costs
/// quadratic time; plain `?` costs none. When the text uses `$1` to `$n`
/// each once and in order, and no other parameter marker, it is rewritten
/// to `?` and bound by position, which means the same.
enum PositionalParameters {
    /// The text with `?` for `$1`...`$n`, or nil when it does not qualify.
    static func rewrite(_ sql: String) -> String? {
        let bytes = Array(sql.utf8)
        guard bytes.contains(UInt8(ascii: "$")) else { return nil }
        var output: [UInt8] = []
        output.reserveCapacity(bytes.count)
        var expected = 1
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "'"), UInt8(ascii: "\""), UInt8(ascii: "`"):
                // A string or a quoted name, copied as it is (a doubled quote continues it).
                var end = index + 1
                while end < bytes.count {
                    if bytes[end] == byte {
                        if end + 1 < bytes.count && bytes[end + 1] == byte { end += 2; continue }
                        break
                    }
                    end += 1
                }
                let stop = min(end + 1, bytes.count)
                output += bytes[index..<stop]
                index = stop
            case UInt8(ascii: "-") where index + 1 < bytes.count && bytes[index + 1] == UInt8(ascii: "-"):
                let end = bytes[index...].firstIndex(of: UInt8(ascii: "\n")) ?? bytes.count
                output += bytes[index..<end]
                index = end
            case UInt8(ascii: "/") where index + 1 < bytes.count && bytes[index + 1] == UInt8(ascii: "*"):
                var end = index + 2
                while end + 1 < bytes.count && !(bytes[end] == UInt8(ascii: "*") && bytes[end + 1] == UInt8(ascii: "/")) { end += 1 }
                let stop = min(end + 2, bytes.count)
                output += bytes[index..<stop]
                index = stop
            case UInt8(ascii: "$"):
                // Inside a name (`a$1` is one in SQLite) it is no parameter: leave the text alone.
                if let previous = output.last, previous >= 0x80 || previous == UInt8(ascii: "_") || previous == UInt8(ascii: "$")
                    || (previous | 0x20 >= UInt8(ascii: "a") && previous | 0x20 <= UInt8(ascii: "z"))
                    || (previous >= UInt8(ascii: "0") && previous <= UInt8(ascii: "9")) {
                    return nil
                }
                var end = index + 1
                var number = 0
                while end < bytes.count, bytes[end] >= UInt8(ascii: "0"), bytes[end] <= UInt8(ascii: "9"), number < 1_000_000 {
                    number = number * 10 + Int(bytes[end] - UInt8(ascii: "0"))
                    end += 1
                }
                guard end > index + 1, number == expected else { return nil }
                expected += 1
                output.append(UInt8(ascii: "?"))
                index = end
            case UInt8(ascii: "?"), UInt8(ascii: ":"), UInt8(ascii: "@"):
                // Another kind of parameter (or a character SQLite could take for one): leave the text alone.
                return nil
            default:
                output.append(byte)
                index += 1
            }
        }
        guard expected > 1 else { return nil } // no parameter found outside strings and comments
        return String(decoding: output, as: UTF8.self)
    }
}
