import EnvelopeTransport
import XCTest

/// A small deterministic generator (SplitMix64), so a failure can be replayed.
private struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// isValidUTF8: RFC 3629 well-formed UTF-8 (shortest form, no surrogates,
/// nothing past U+10FFFF), checked against the standard library's decoder.
final class UTF8ValidationTests: XCTestCase {
    private func valid(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { isValidUTF8($0) }
    }

    /// What the standard library's validating decoder says of `bytes`.
    private func standardLibraryAccepts(_ bytes: [UInt8]) -> Bool {
        String(validating: bytes, as: UTF8.self) != nil
    }

    private func hex(_ bytes: [UInt8]) -> String {
        bytes.map { String($0, radix: 16, uppercase: true) }.map { $0.count == 1 ? "0" + $0 : $0 }.joined(separator: " ")
    }

    private func assertValid(_ bytes: [UInt8], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertTrue(valid(bytes), "rejected \(hex(bytes))", file: file, line: line)
    }

    private func assertInvalid(_ bytes: [UInt8], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertFalse(valid(bytes), "accepted \(hex(bytes))", file: file, line: line)
    }

    // MARK: Accepted

    func testEmptyIsValid() {
        assertValid([])
    }

    func testASCIIIsValid() {
        assertValid(Array("hello, world {\"id\":1}".utf8))
        assertValid([0x00])
        assertValid([0x7F])
        assertValid(Array(UInt8(0x00)...UInt8(0x7F)))
    }

    func testTwoByteSequencesAreValid() {
        assertValid([0xC2, 0x80]) // U+0080, the smallest
        assertValid([0xC3, 0xA9]) // é
        assertValid([0xDF, 0xBF]) // U+07FF, the largest
    }

    func testThreeByteSequencesAreValid() {
        assertValid([0xE0, 0xA0, 0x80]) // U+0800, the smallest
        assertValid([0xE2, 0x82, 0xAC]) // €
        assertValid([0xED, 0x9F, 0xBF]) // U+D7FF, just below the surrogates
        assertValid([0xEE, 0x80, 0x80]) // U+E000, just above them
        assertValid([0xEF, 0xBF, 0xBF]) // U+FFFF
    }

    func testFourByteSequencesAreValid() {
        assertValid([0xF0, 0x90, 0x80, 0x80]) // U+10000, the smallest
        assertValid([0xF0, 0x9F, 0x98, 0x80]) // 😀
        assertValid([0xF4, 0x8F, 0xBF, 0xBF]) // U+10FFFF, the largest
    }

    func testMixedTextIsValid() {
        assertValid(Array("a é € 😀 \u{10FFFF} z".utf8))
    }

    // MARK: Rejected

    func testOverlongFormsAreInvalid() {
        assertInvalid([0xC0, 0x80]) // NUL in two bytes
        assertInvalid([0xC1, 0xBF]) // U+007F in two bytes
        assertInvalid([0xE0, 0x80, 0x80]) // NUL in three bytes
        assertInvalid([0xE0, 0x9F, 0xBF]) // U+07FF in three bytes
        assertInvalid([0xF0, 0x80, 0x80, 0x80]) // NUL in four bytes
        assertInvalid([0xF0, 0x8F, 0xBF, 0xBF]) // U+FFFF in four bytes
    }

    func testSurrogatesAreInvalid() {
        assertInvalid([0xED, 0xA0, 0x80]) // U+D800
        assertInvalid([0xED, 0xAF, 0xBF]) // U+DBFF
        assertInvalid([0xED, 0xB0, 0x80]) // U+DC00
        assertInvalid([0xED, 0xBF, 0xBF]) // U+DFFF
        assertInvalid([0xED, 0xA0, 0xBD, 0xED, 0xB8, 0x80]) // a surrogate pair, CESU-8 style
    }

    func testScalarsPastU10FFFFAreInvalid() {
        assertInvalid([0xF4, 0x90, 0x80, 0x80]) // U+110000
        assertInvalid([0xF4, 0xBF, 0xBF, 0xBF])
        for lead: UInt8 in 0xF5...0xFF {
            assertInvalid([lead, 0x80, 0x80, 0x80])
            assertInvalid([lead])
        }
    }

    func testSequencesTruncatedAtTheEndAreInvalid() {
        assertInvalid([0xC3])
        assertInvalid([0xE2, 0x82])
        assertInvalid([0xE2])
        assertInvalid([0xF0, 0x9F, 0x98])
        assertInvalid([0xF0, 0x9F])
        assertInvalid([0xF0])
        assertInvalid(Array("valid so far".utf8) + [0xF0, 0x9F, 0x98])
    }

    func testSequencesCutByAnotherByteAreInvalid() {
        assertInvalid([0xC3, 0x41]) // ASCII where a continuation belongs
        assertInvalid([0xE2, 0x82, 0x41])
        assertInvalid([0xF0, 0x9F, 0x98, 0x41])
        assertInvalid([0xE2, 0xC3, 0xA9]) // a new lead where a continuation belongs
    }

    func testLoneContinuationBytesAreInvalid() {
        for byte: UInt8 in 0x80...0xBF {
            assertInvalid([byte])
            assertInvalid([0x41, byte, 0x41])
        }
        assertInvalid([0xC3, 0xA9, 0xA9]) // one continuation too many
    }

    // MARK: Against the standard library

    func testEveryTwoByteInputAgreesWithTheStandardLibrary() {
        for first in UInt8.min...UInt8.max {
            for second in UInt8.min...UInt8.max {
                let bytes = [first, second]
                if valid(bytes) != standardLibraryAccepts(bytes) {
                    XCTFail("disagree on \(hex(bytes)): isValidUTF8 says \(valid(bytes))")
                }
            }
        }
    }

    func testThreeAndFourByteBoundariesAgreeWithTheStandardLibrary() {
        let tails: [UInt8] = [0x00, 0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xFF]
        for lead in UInt8(0xE0)...UInt8(0xFF) {
            for second in UInt8.min...UInt8.max {
                for third in tails {
                    let three = [lead, second, third]
                    if valid(three) != standardLibraryAccepts(three) {
                        XCTFail("disagree on \(hex(three)): isValidUTF8 says \(valid(three))")
                    }
                    guard lead >= 0xF0 else { continue }
                    for fourth: UInt8 in [0x41, 0x80, 0xBF] {
                        let four = [lead, second, third, fourth]
                        if valid(four) != standardLibraryAccepts(four) {
                            XCTFail("disagree on \(hex(four)): isValidUTF8 says \(valid(four))")
                        }
                    }
                }
            }
        }
    }

    func testPseudoRandomInputsAgreeWithTheStandardLibrary() {
        var random = SplitMix64(seed: 0x00C0_FFEE_D15E_A5E5)
        // Bytes where UTF-8 has edges: leads, continuation limits, invalid bytes.
        let edges: [UInt8] = [0x00, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC1, 0xC2, 0xDF,
                              0xE0, 0xE1, 0xEC, 0xED, 0xEE, 0xEF, 0xF0, 0xF1, 0xF3, 0xF4, 0xF5, 0xF8, 0xFE, 0xFF]
        func scalarBytes() -> [UInt8] {
            var value = UInt32.random(in: 0...0x10FFFF, using: &random)
            if (0xD800...0xDFFF).contains(value) { value -= 0x800 }
            return Array(String(Character(Unicode.Scalar(value)!)).utf8)
        }
        var accepted = 0
        var rejected = 0
        for _ in 0..<5_000 {
            var bytes: [UInt8] = []
            if Bool.random(using: &random) {
                // Byte soup biased towards the edges.
                for _ in 0..<Int.random(in: 0...12, using: &random) {
                    switch Int.random(in: 0..<4, using: &random) {
                    case 0: bytes.append(UInt8.random(in: 0x00...0x7F, using: &random))
                    case 1: bytes.append(UInt8.random(in: 0x80...0xBF, using: &random))
                    case 2: bytes.append(edges.randomElement(using: &random)!)
                    default: bytes.append(contentsOf: scalarBytes())
                    }
                }
            } else {
                // Valid text, then maybe one byte changed, dropped or added.
                for _ in 0..<Int.random(in: 1...6, using: &random) { bytes.append(contentsOf: scalarBytes()) }
                switch Int.random(in: 0..<4, using: &random) {
                case 0: bytes[Int.random(in: 0..<bytes.count, using: &random)] = UInt8.random(in: 0...0xFF, using: &random)
                case 1: bytes.removeLast()
                case 2: bytes.insert(edges.randomElement(using: &random)!, at: Int.random(in: 0...bytes.count, using: &random))
                default: break
                }
            }
            let expected = standardLibraryAccepts(bytes)
            if expected { accepted += 1 } else { rejected += 1 }
            if valid(bytes) != expected {
                XCTFail("disagree on \(hex(bytes)): the standard library says \(expected)")
            }
        }
        // Both outcomes must have been exercised many times.
        XCTAssertGreaterThan(accepted, 500)
        XCTAssertGreaterThan(rejected, 500)
    }
}
