/// Finds the members of a JSON object without building values: the
/// transports pass a payload on as the exact bytes the client sent (and the
/// client library hands results over the same way), so decoding and
/// re-encoding them would only cost time.
///
/// A value type with no state of its own: safe from any thread.
///
/// The scan checks the structure it walks (strings, nesting, separators);
/// it does not check numbers and literals inside a payload: the handler that
/// decodes the payload reports those.
public struct JSONScanner {
    public struct Malformed: Error, CustomStringConvertible {
        public var description: String
    }

    /// One member: its decoded key and the byte range of its raw value.
    public struct Member: Sendable {
        public var key: String
        public var value: Range<Int>
    }

    private let bytes: UnsafeRawBufferPointer
    private var index: Int

    private init(_ bytes: UnsafeRawBufferPointer, at index: Int) {
        self.bytes = bytes
        self.index = index
    }

    /// The members of the object that is the whole of `bytes`.
    public static func members(ofObject bytes: UnsafeRawBufferPointer) throws(Malformed) -> [Member] {
        var scanner = JSONScanner(bytes, at: 0)
        let members = try scanner.object()
        scanner.skipSpace()
        guard scanner.index == bytes.count else { throw Malformed(description: "trailing bytes after the object") }
        return members
    }

    /// The members of the object in `range` of `bytes` (a value found before).
    public static func members(ofObject bytes: UnsafeRawBufferPointer, in range: Range<Int>) throws(Malformed) -> [Member] {
        try members(ofObject: UnsafeRawBufferPointer(rebasing: bytes[range]))
    }

    /// Whether `bytes` are one JSON value (with the scan's checks), surrounded by whitespace at most.
    public static func isValue(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var scanner = JSONScanner(bytes, at: 0)
        scanner.skipSpace()
        guard (try? scanner.skipValue()) != nil else { return false }
        scanner.skipSpace()
        return scanner.index == bytes.count
    }

    /// The byte ranges of the elements of the array in `range` of `bytes`.
    public static func elements(ofArray bytes: UnsafeRawBufferPointer, in range: Range<Int>) throws(Malformed) -> [Range<Int>] {
        var scanner = JSONScanner(UnsafeRawBufferPointer(rebasing: bytes[range]), at: 0)
        let elements = try scanner.array()
        scanner.skipSpace()
        guard scanner.index == range.count else { throw Malformed(description: "trailing bytes after the array") }
        return elements.map { ($0.lowerBound + range.lowerBound)..<($0.upperBound + range.lowerBound) }
    }

    /// The text of the string value in `range`, or nil if it is not a string.
    public static func string(_ bytes: UnsafeRawBufferPointer, in range: Range<Int>) -> String? {
        guard range.count >= 2, bytes[range.lowerBound] == quote else { return nil }
        var scanner = JSONScanner(bytes, at: range.lowerBound)
        guard let text = try? scanner.string(), scanner.index == range.upperBound else { return nil }
        return text
    }

    /// Whether the value in `range` is a string or an integer (what an id may be).
    public static func isIdentifier(_ bytes: UnsafeRawBufferPointer, in range: Range<Int>) -> Bool {
        guard let first = range.first.map({ bytes[$0] }) else { return false }
        if first == quote { return string(bytes, in: range) != nil }
        // An integer: one optional minus, then digits without a leading zero
        // (answers echo the id's bytes, so they must be valid JSON).
        let digits = first == UInt8(ascii: "-") ? range.dropFirst() : range[...]
        guard let lead = digits.first, digits.count <= 19,
              digits.allSatisfy({ bytes[$0] >= 0x30 && bytes[$0] <= 0x39 }) else { return false }
        return bytes[lead] != 0x30 || digits.count == 1
    }

    // MARK: Scanning

    private static let quote = UInt8(ascii: "\"")

    private mutating func object() throws(Malformed) -> [Member] {
        skipSpace()
        try expect(UInt8(ascii: "{"))
        var members: [Member] = []
        skipSpace()
        if peek() == UInt8(ascii: "}") {
            index += 1
            return members
        }
        while true {
            skipSpace()
            guard peek() == Self.quote else { throw Malformed(description: "expected a member name at byte \(index)") }
            let key = try string()
            skipSpace()
            try expect(UInt8(ascii: ":"))
            skipSpace()
            let start = index
            try skipValue()
            members.append(Member(key: key, value: start..<index))
            skipSpace()
            switch peek() {
            case UInt8(ascii: ","): index += 1
            case UInt8(ascii: "}"):
                index += 1
                return members
            default: throw Malformed(description: "expected ',' or '}' at byte \(index)")
            }
        }
    }

    private mutating func array() throws(Malformed) -> [Range<Int>] {
        skipSpace()
        try expect(UInt8(ascii: "["))
        var elements: [Range<Int>] = []
        skipSpace()
        if peek() == UInt8(ascii: "]") {
            index += 1
            return elements
        }
        while true {
            skipSpace()
            let start = index
            try skipValue()
            elements.append(start..<index)
            skipSpace()
            if peek() == UInt8(ascii: ",") {
                index += 1
                continue
            }
            try expect(UInt8(ascii: "]"))
            return elements
        }
    }

    private mutating func skipValue() throws(Malformed) {
        guard let first = peek() else { throw Malformed(description: "missing value at the end") }
        switch first {
        case Self.quote:
            try skipString()
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            try skipNested()
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "t"), UInt8(ascii: "f"), UInt8(ascii: "n"):
            let start = index
            while let byte = peek(), !Self.endsScalar(byte) { index += 1 }
            let scalar = UnsafeRawBufferPointer(rebasing: bytes[start..<index])
            if first == UInt8(ascii: "t") || first == UInt8(ascii: "f") || first == UInt8(ascii: "n") {
                guard scalar.elementsEqual("true".utf8) || scalar.elementsEqual("false".utf8)
                        || scalar.elementsEqual("null".utf8)
                else { throw Malformed(description: "unknown literal at byte \(start)") }
            }
        default:
            throw Malformed(description: "unexpected byte 0x\(String(first, radix: 16)) at \(index)")
        }
    }

    /// Skips an object or array: matches brackets (without recursion, so
    /// deep nesting costs one byte per level), stepping over strings.
    private mutating func skipNested() throws(Malformed) {
        var open: [UInt8] = []
        while let byte = peek() {
            switch byte {
            case Self.quote:
                try skipString()
                continue
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                open.append(byte)
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                let expected = byte == UInt8(ascii: "}") ? UInt8(ascii: "{") : UInt8(ascii: "[")
                guard open.popLast() == expected else {
                    throw Malformed(description: "mismatched '\(Character(Unicode.Scalar(byte)))' at byte \(index)")
                }
                if open.isEmpty {
                    index += 1
                    return
                }
            default:
                break
            }
            index += 1
        }
        throw Malformed(description: "unterminated object or array")
    }

    private mutating func skipString() throws(Malformed) {
        index += 1
        while let byte = peek() {
            index += 1
            switch byte {
            case Self.quote: return
            case UInt8(ascii: "\\"):
                // The escaped byte is checked too: a raw control character is never allowed.
                if let next = peek(), next < 0x20 { throw Malformed(description: "control character in a string at byte \(index)") }
                index += 1
            case ..<0x20: throw Malformed(description: "control character in a string at byte \(index - 1)")
            default: break
            }
        }
        throw Malformed(description: "unterminated string")
    }

    /// Reads a string, decoding escapes.
    private mutating func string() throws(Malformed) -> String {
        let start = index + 1
        try skipString()
        let end = index - 1
        let raw = UnsafeRawBufferPointer(rebasing: bytes[start..<end])
        guard raw.contains(UInt8(ascii: "\\")) else { return String(decoding: raw, as: UTF8.self) }
        return try Self.unescape(raw)
    }

    /// Decodes the escapes JSON defines (RFC 8259 section 7) and no others:
    /// an unknown escape, a `\u` without four hex digits, or a surrogate
    /// without its pair is malformed, not quietly dropped.
    private static func unescape(_ raw: UnsafeRawBufferPointer) throws(Malformed) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(raw.count)
        var i = 0
        var pendingHigh: UInt32?
        func append(_ scalar: UInt32) {
            if let unicode = Unicode.Scalar(scalar) { out.append(contentsOf: String(Character(unicode)).utf8) }
        }
        func hex(_ byte: UInt8) -> UInt32? {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): UInt32(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): UInt32(byte - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): UInt32(byte - UInt8(ascii: "A") + 10)
            default: nil
            }
        }
        while i < raw.count {
            let byte = raw[i]
            guard byte == UInt8(ascii: "\\"), i + 1 < raw.count else {
                if pendingHigh != nil { throw Malformed(description: "a high surrogate without its low half") }
                out.append(byte)
                i += 1
                continue
            }
            let escaped = raw[i + 1]
            i += 2
            if pendingHigh != nil && escaped != UInt8(ascii: "u") {
                throw Malformed(description: "a high surrogate without its low half")
            }
            switch escaped {
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "u"):
                guard i + 4 <= raw.count, let a = hex(raw[i]), let b = hex(raw[i + 1]), let c = hex(raw[i + 2]), let d = hex(raw[i + 3])
                else { throw Malformed(description: "bad \\u escape: four hex digits expected") }
                let unit = a << 12 | b << 8 | c << 4 | d
                i += 4
                if (0xD800...0xDBFF).contains(unit) {
                    guard pendingHigh == nil else { throw Malformed(description: "a high surrogate without its low half") }
                    pendingHigh = unit
                    continue
                }
                if (0xDC00...0xDFFF).contains(unit) {
                    guard let high = pendingHigh else { throw Malformed(description: "a low surrogate without its high half") }
                    append(0x10000 + ((high - 0xD800) << 10) + (unit - 0xDC00))
                } else {
                    append(unit)
                }
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"):
                out.append(escaped)
            default:
                throw Malformed(description: "unknown escape \\\(Character(Unicode.Scalar(escaped)))")
            }
            pendingHigh = nil
        }
        if pendingHigh != nil { throw Malformed(description: "a high surrogate without its low half") }
        return String(decoding: out, as: UTF8.self)
    }

    /// A scalar also ends where a string or a nested value would begin: the
    /// separator check then refuses `1"x"`, which a scan of the enclosing
    /// value (`skipNested`) would read as a number and a string.
    private static func endsScalar(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: ",") || byte == UInt8(ascii: "}") || byte == UInt8(ascii: "]") || isSpace(byte)
            || byte == quote || byte == UInt8(ascii: "{") || byte == UInt8(ascii: "[")
    }

    private static func isSpace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09
    }

    private func peek() -> UInt8? { index < bytes.count ? bytes[index] : nil }

    private mutating func skipSpace() {
        while let byte = peek(), Self.isSpace(byte) { index += 1 }
    }

    private mutating func expect(_ byte: UInt8) throws(Malformed) {
        guard peek() == byte else {
            throw Malformed(description: "expected '\(Character(Unicode.Scalar(byte)))' at byte \(index)")
        }
        index += 1
    }
}
