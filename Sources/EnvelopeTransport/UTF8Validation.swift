/// Whether `bytes` are well-formed UTF-8 (RFC 3629: shortest form, no
/// surrogates, nothing past U+10FFFF). A text message that is not gets close
/// code 1007. Checked in place, without building a String.
package func isValidUTF8(_ bytes: UnsafeRawBufferPointer) -> Bool {
    var index = 0
    let count = bytes.count
    while index < count {
        let lead = bytes[index]
        if lead < 0x80 {
            index += 1
            continue
        }
        let continuation: Int
        var scalar: UInt32
        let smallest: UInt32
        switch lead {
        case 0xC2...0xDF: (continuation, scalar, smallest) = (1, UInt32(lead & 0x1F), 0x80)
        case 0xE0...0xEF: (continuation, scalar, smallest) = (2, UInt32(lead & 0x0F), 0x800)
        case 0xF0...0xF4: (continuation, scalar, smallest) = (3, UInt32(lead & 0x07), 0x10000)
        default: return false
        }
        guard index + continuation < count else { return false }
        for offset in 1...continuation {
            let byte = bytes[index + offset]
            guard byte & 0xC0 == 0x80 else { return false }
            scalar = scalar << 6 | UInt32(byte & 0x3F)
        }
        guard scalar >= smallest, scalar <= 0x10FFFF, !(0xD800...0xDFFF).contains(scalar) else { return false }
        index += continuation + 1
    }
    return true
}
