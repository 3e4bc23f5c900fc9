/// A recursive-descent parser over the bytes; recursion is bounded by `maxDepth`.
struct JSONParser {
    let bytes: UnsafeBufferPointer<UInt8>
    let maxDepth: Int
    var offset = 0
    var scratch: [UInt8] = [] // reused for strings with escapes

    init(bytes: UnsafeBufferPointer<UInt8>, maxDepth: Int) {
        self.bytes = bytes
        self.maxDepth = maxDepth
    }

    mutating func document() throws(JSONParseError) -> JSONValue {
        // A UTF-8 byte order mark is tolerated, as JSONDecoder does.
        if bytes.count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF { offset = 3 }
        let value = try self.value(depth: 0)
        skipWhitespace()
        if offset < bytes.count { throw unexpected() }
        return value
    }

    private mutating func value(depth: Int) throws(JSONParseError) -> JSONValue {
        skipWhitespace()
        guard offset < bytes.count else { throw unexpected() }
        switch bytes[offset] {
        case UInt8(ascii: "{"): return try object(depth: depth + 1)
        case UInt8(ascii: "["): return try array(depth: depth + 1)
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
        default: throw unexpected()
        }
    }

    private mutating func object(depth: Int) throws(JSONParseError) -> JSONValue {
        guard depth <= maxDepth else { throw JSONParseError(message: "nested deeper than \(maxDepth) levels", offset: offset) }
        offset += 1 // {
        var fields: [String: JSONValue] = [:]
        skipWhitespace()
        if peek(UInt8(ascii: "}")) { offset += 1; return .object(fields) }
        while true {
            skipWhitespace()
            guard peek(UInt8(ascii: "\"")) else { throw unexpected() }
            let key = try string()
            skipWhitespace()
            guard peek(UInt8(ascii: ":")) else { throw unexpected() }
            offset += 1
            let value = try self.value(depth: depth)
            if fields[key] == nil { fields[key] = value }
            skipWhitespace()
            if peek(UInt8(ascii: ",")) { offset += 1; continue }
            if peek(UInt8(ascii: "}")) { offset += 1; return .object(fields) }
            throw unexpected()
        }
    }

    private mutating func array(depth: Int) throws(JSONParseError) -> JSONValue {
        guard depth <= maxDepth else { throw JSONParseError(message: "nested deeper than \(maxDepth) levels", offset: offset) }
        offset += 1 // [
        var values: [JSONValue] = []
        skipWhitespace()
        if peek(UInt8(ascii: "]")) { offset += 1; return .array(values) }
        while true {
            values.append(try value(depth: depth))
            skipWhitespace()
            if peek(UInt8(ascii: ",")) { offset += 1; continue }
            if peek(UInt8(ascii: "]")) { offset += 1; return .array(values) }
            throw unexpected()
        }
    }

    private mutating func string() throws(JSONParseError) -> String {
        offset += 1 // opening quote
        let start = offset
        // Fast path: no escapes, so the bytes are the string.
        while offset < bytes.count {
            let byte = bytes[offset]
            if byte == UInt8(ascii: "\"") {
                guard let text = JSONParser.utf8(UnsafeBufferPointer(rebasing: bytes[start..<offset])) else {
                    throw JSONParseError(message: "invalid UTF-8 in string", offset: start)
                }
                offset += 1
                return text
            }
            if byte == UInt8(ascii: "\\") { break }
            if byte < 0x20 { throw JSONParseError(message: "control character in string", offset: offset) }
            offset += 1
        }
        scratch.removeAll(keepingCapacity: true)
        scratch.append(contentsOf: bytes[start..<offset])
        while offset < bytes.count {
            let byte = bytes[offset]
            switch byte {
            case UInt8(ascii: "\""):
                guard let text = scratch.withUnsafeBufferPointer(JSONParser.utf8) else {
                    throw JSONParseError(message: "invalid UTF-8 in string", offset: start)
                }
                offset += 1
                return text
            case UInt8(ascii: "\\"):
                try escape()
            case 0..<0x20:
                throw JSONParseError(message: "control character in string", offset: offset)
            default:
                scratch.append(byte)
                offset += 1
            }
        }
        throw unexpected()
    }

    /// One escape sequence after a backslash, appended to `scratch` as UTF-8.
    private mutating func escape() throws(JSONParseError) {
        let at = offset
        offset += 1
        guard offset < bytes.count else { throw unexpected() }
        let byte = bytes[offset]
        offset += 1
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): scratch.append(byte)
        case UInt8(ascii: "b"): scratch.append(0x08)
        case UInt8(ascii: "f"): scratch.append(0x0C)
        case UInt8(ascii: "n"): scratch.append(0x0A)
        case UInt8(ascii: "r"): scratch.append(0x0D)
        case UInt8(ascii: "t"): scratch.append(0x09)
        case UInt8(ascii: "u"):
            var code = UInt32(try hex4())
            if (0xD800..<0xDC00).contains(code) {
                // A high surrogate must be followed by an escaped low one.
                guard offset + 1 < bytes.count, bytes[offset] == UInt8(ascii: "\\"), bytes[offset + 1] == UInt8(ascii: "u")
                else { throw JSONParseError(message: "unpaired surrogate in string", offset: at) }
                offset += 2
                let low = UInt32(try hex4())
                guard (0xDC00..<0xE000).contains(low) else { throw JSONParseError(message: "unpaired surrogate in string", offset: at) }
                code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
            } else if (0xDC00..<0xE000).contains(code) {
                throw JSONParseError(message: "unpaired surrogate in string", offset: at)
            }
            scratch.append(contentsOf: String(Unicode.Scalar(code)!).utf8) // surrogates excluded above
        default:
            throw JSONParseError(message: "invalid escape in string", offset: at)
        }
    }

    private mutating func hex4() throws(JSONParseError) -> UInt16 {
        guard offset + 4 <= bytes.count else { throw unexpected() }
        var value: UInt16 = 0
        for _ in 0..<4 {
            let byte = bytes[offset]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw JSONParseError(message: "invalid \\u escape in string", offset: offset)
            }
            value = value << 4 | UInt16(digit)
            offset += 1
        }
        return value
    }

    private static func utf8(_ buffer: UnsafeBufferPointer<UInt8>) -> String? {
        String(validating: buffer, as: UTF8.self)
    }

    private mutating func number() throws(JSONParseError) -> JSONValue {
        let start = offset
        var isInteger = true
        if peek(UInt8(ascii: "-")) { offset += 1 }
        // Integer part: 0, or a non-zero digit and more digits.
        if peek(UInt8(ascii: "0")) {
            offset += 1
        } else if digits() == 0 {
            throw unexpected()
        }
        if peek(UInt8(ascii: ".")) {
            offset += 1
            isInteger = false
            if digits() == 0 { throw unexpected() }
        }
        if peek(UInt8(ascii: "e")) || peek(UInt8(ascii: "E")) {
            offset += 1
            isInteger = false
            if peek(UInt8(ascii: "+")) || peek(UInt8(ascii: "-")) { offset += 1 }
            if digits() == 0 { throw unexpected() }
        }
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<offset]), as: UTF8.self)
        // Integers stay exact when they fit; larger ones become doubles.
        if isInteger, let value = Int64(text) { return .integer(value) }
        guard let value = Double(text), value.isFinite else {
            throw JSONParseError(message: "number out of range", offset: start)
        }
        return .number(value)
    }

    private mutating func digits() -> Int {
        let start = offset
        while offset < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[offset]) { offset += 1 }
        return offset - start
    }

    private mutating func literal(_ word: StaticString) throws(JSONParseError) {
        // Byte by byte, so that an error points at the first wrong byte (or the end).
        for index in 0..<word.utf8CodeUnitCount {
            guard offset < bytes.count, bytes[offset] == word.utf8Start[index] else { throw unexpected() }
            offset += 1
        }
    }

    private mutating func skipWhitespace() {
        while offset < bytes.count {
            switch bytes[offset] {
            case 0x20, 0x0A, 0x0D, 0x09: offset += 1
            default: return
            }
        }
    }

    private func peek(_ byte: UInt8) -> Bool { offset < bytes.count && bytes[offset] == byte }

    private func unexpected() -> JSONParseError {
        guard offset < bytes.count else { return JSONParseError(message: "unexpected end of input", offset: offset) }
        let byte = bytes[offset]
        let shown = (0x21..<0x7F).contains(byte) ? "'\(Character(Unicode.Scalar(byte)))'" : "byte 0x" + String(byte, radix: 16)
        return JSONParseError(message: "unexpected \(shown)", offset: offset)
    }
}
