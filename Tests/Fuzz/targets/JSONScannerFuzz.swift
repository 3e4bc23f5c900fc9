// Checks JSONScanner: found ranges stay inside the buffer and in order, keys survive re-escaping, and it accepts every object the strict JSONValue parser accepts.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    // An allocation of exactly the input's size: AddressSanitizer reports any read past it.
    let bytes = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 1)
    defer { bytes.deallocate() }
    bytes.copyMemory(from: UnsafeRawBufferPointer(start: data, count: size))
    let buffer = UnsafeRawBufferPointer(bytes)

    let isValue = JSONScanner.isValue(buffer)
    if let members = try? JSONScanner.members(ofObject: buffer) {
        require(isValue, "an object the scanner reads is not a value")
        var previousEnd = 0
        for member in members {
            let range = member.value
            require(range.lowerBound >= previousEnd && range.upperBound <= size && !range.isEmpty,
                    "member '\(member.key)' has range \(range) in \(size) bytes")
            previousEnd = range.upperBound
            require(JSONScanner.isValue(UnsafeRawBufferPointer(rebasing: buffer[range])),
                    "the value of '\(member.key)' is not a value on its own")
            _ = JSONScanner.isIdentifier(buffer, in: range)
            if let text = JSONScanner.string(buffer, in: range) {
                require(buffer[range.lowerBound] == UInt8(ascii: "\""), "a string value '\(text)' without a quote")
            }
            if buffer[range.lowerBound] == UInt8(ascii: "[") {
                if let elements = try? JSONScanner.elements(ofArray: buffer, in: range) {
                    for element in elements {
                        require(element.lowerBound >= range.lowerBound && element.upperBound <= range.upperBound,
                                "element \(element) outside its array \(range)")
                    }
                }
            }
            if buffer[range.lowerBound] == UInt8(ascii: "{") {
                _ = try? JSONScanner.members(ofObject: buffer, in: range)
            }
        }
        checkRoundTrip(members, buffer)
    }
    checkAgainstStrictParser(buffer, isValue: isValue)
    return 0
}

/// Keys written back with JSON escapes read back as the same keys, next to the same raw values.
private func checkRoundTrip(_ members: [JSONScanner.Member], _ buffer: UnsafeRawBufferPointer) {
    var text: [UInt8] = Array("{".utf8)
    for (index, member) in members.enumerated() {
        if index > 0 { text.append(UInt8(ascii: ",")) }
        text += escaped(member.key)
        text.append(UInt8(ascii: ":"))
        text += buffer[member.value]
    }
    text.append(UInt8(ascii: "}"))
    let again = text.withUnsafeBytes { raw in
        (try? JSONScanner.members(ofObject: raw))?.map { ($0.key, Array(raw[$0.value])) }
    }
    guard let again else { fail("re-escaped object is refused: \(String(decoding: text, as: UTF8.self))") }
    require(again.map(\.0) == members.map(\.key), "keys changed: \(again.map(\.0)) vs \(members.map(\.key))")
    require(again.map(\.1) == members.map { Array(buffer[$0.value]) }, "values changed after re-escaping")
}

private func escaped(_ key: String) -> [UInt8] {
    var out: [UInt8] = [UInt8(ascii: "\"")]
    for scalar in key.unicodeScalars {
        switch scalar {
        case "\"": out += Array("\\\"".utf8)
        case "\\": out += Array("\\\\".utf8)
        case _ where scalar.value < 0x20:
            let hex = String(scalar.value, radix: 16)
            out += Array(("\\u" + String(repeating: "0", count: 4 - hex.count) + hex).utf8)
        default: out += Array(String(scalar).utf8)
        }
    }
    out.append(UInt8(ascii: "\""))
    return out
}

/// The scanner checks less than a full parser, never more: what the strict
/// parser of the JSONSchema module accepts, the scanner must accept too,
/// with the same keys.
private func checkAgainstStrictParser(_ buffer: UnsafeRawBufferPointer, isValue: Bool) {
    // The strict parser skips a UTF-8 byte order mark; the scanner does not.
    guard let first = buffer.first, first != 0xEF,
          let value = try? JSONValue.parse(Array(buffer)) else { return }
    require(isValue, "the strict parser reads a value the scanner refuses")
    guard case .object(let fields) = value else { return }
    guard let members = try? JSONScanner.members(ofObject: buffer) else {
        fail("the strict parser reads an object the scanner refuses")
    }
    require(Set(members.map(\.key)) == Set(fields.keys), "keys differ: \(members.map(\.key)) vs \(fields.keys.sorted())")
}
