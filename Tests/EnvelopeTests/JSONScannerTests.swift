import EnvelopeJSON
import XCTest

/// JSONScanner: the members of an object (decoded keys, exact raw value
/// ranges), the refusals of malformed input, deep nesting, and the helpers
/// `string(_:in:)` and `isIdentifier(_:in:)`.
final class JSONScannerTests: XCTestCase {
    // MARK: Helpers

    /// The members of `text`: each decoded key and the text of its raw value.
    private func scan(_ text: String) throws -> [(key: String, raw: String)] {
        let bytes = Array(text.utf8)
        let members = try bytes.withUnsafeBytes { try JSONScanner.members(ofObject: $0) }
        return members.map { (key: $0.key, raw: String(decoding: bytes[$0.value], as: UTF8.self)) }
    }

    private func assertMalformed(_ text: String, file: StaticString = #filePath, line: UInt = #line) {
        assertMalformed(Array(text.utf8), file: file, line: line)
    }

    private func assertMalformed(_ bytes: [UInt8], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try bytes.withUnsafeBytes { try JSONScanner.members(ofObject: $0) },
                             "accepted \(String(reflecting: String(decoding: bytes, as: UTF8.self)))",
                             file: file, line: line) { error in
            XCTAssertTrue(error is JSONScanner.Malformed, "\(error)", file: file, line: line)
        }
    }

    private func string(_ text: String, in range: Range<Int>? = nil) -> String? {
        let bytes = Array(text.utf8)
        return bytes.withUnsafeBytes { JSONScanner.string($0, in: range ?? 0..<bytes.count) }
    }

    private func isIdentifier(_ text: String, in range: Range<Int>? = nil) -> Bool {
        let bytes = Array(text.utf8)
        return bytes.withUnsafeBytes { JSONScanner.isIdentifier($0, in: range ?? 0..<bytes.count) }
    }

    // MARK: Valid objects

    func testEmptyObjectHasNoMembers() throws {
        XCTAssertTrue(try scan("{}").isEmpty)
        XCTAssertTrue(try scan(" \t\r\n{ \n }\t ").isEmpty)
    }

    func testValueRangeOfASimpleMemberIsExact() throws {
        let bytes = Array(#"{"a":1}"#.utf8)
        let members = try bytes.withUnsafeBytes { try JSONScanner.members(ofObject: $0) }
        XCTAssertEqual(members.count, 1)
        XCTAssertEqual(members.first?.key, "a")
        XCTAssertEqual(members.first?.value, 5..<6)
    }

    func testRawValuesOfEveryKindAreExact() throws {
        let text = #"{"s":"x,}y]","n":-12.5e3,"i":0,"o":{"k":[1,{"z":"}"}]},"a":[1,[2,3],"]",{}],"t":true,"f":false,"z":null,"e":"","ea":[],"eo":{}}"#
        let members = try scan(text)
        XCTAssertEqual(members.map { $0.key }, ["s", "n", "i", "o", "a", "t", "f", "z", "e", "ea", "eo"])
        XCTAssertEqual(members.map { $0.raw }, [
            #""x,}y]""#, "-12.5e3", "0", #"{"k":[1,{"z":"}"}]}"#, #"[1,[2,3],"]",{}]"#,
            "true", "false", "null", #""""#, "[]", "{}",
        ])
    }

    func testStringsInsideNestedValuesMayHoldBracketsAndEscapedQuotes() throws {
        let text = #"{"a":["\"]", "}", "\\", "{["],"b":{"c":"\"}\\\""},"d":1}"#
        let members = try scan(text)
        XCTAssertEqual(members.map { $0.key }, ["a", "b", "d"])
        XCTAssertEqual(members.map { $0.raw }, [#"["\"]", "}", "\\", "{["]"#, #"{"c":"\"}\\\""}"#, "1"])
    }

    func testWhitespaceEverywhereIsSkippedAndNotPartOfValues() throws {
        let text = " \n\t{ \r\n \"a\" \t:\n 1 , \"b\":\"x y\"\t,\"c\" : [ 1 , 2 ] ,\n\"d\":{ }, \"e\" :true\n}\r\n "
        let members = try scan(text)
        XCTAssertEqual(members.map { $0.key }, ["a", "b", "c", "d", "e"])
        XCTAssertEqual(members.map { $0.raw }, ["1", #""x y""#, "[ 1 , 2 ]", "{ }", "true"])
    }

    func testKeysAreDecoded() throws {
        let text = #"{"plain":1,"a\"b":2,"c\\d":3,"\u00e9":4,"\ud83d\ude00":5,"\/\b\f\n\r\t":6,"x\u0041y":7,"é😀":8}"#
        let members = try scan(text)
        XCTAssertEqual(members.map { $0.key }, ["plain", "a\"b", "c\\d", "é", "😀", "/\u{8}\u{C}\n\r\t", "xAy", "é😀"])
        XCTAssertEqual(members.map { $0.raw }, ["1", "2", "3", "4", "5", "6", "7", "8"])
    }

    func testRepeatedKeysAreAllReportedInOrder() throws {
        let members = try scan(#"{"k":1,"k":2,"j":3}"#)
        XCTAssertEqual(members.map { $0.key }, ["k", "k", "j"])
        XCTAssertEqual(members.map { $0.raw }, ["1", "2", "3"])
    }

    func testMembersOfANestedObjectHaveRangesRelativeToItsRange() throws {
        let bytes = Array(#"{"x":{"k":"v","n":2},"y":0}"#.utf8)
        try bytes.withUnsafeBytes { buffer in
            let outer = try JSONScanner.members(ofObject: buffer)
            XCTAssertEqual(outer.map(\.key), ["x", "y"])
            guard let nested = outer.first?.value else { return XCTFail("no member") }
            XCTAssertEqual(nested, 5..<20)
            let inner = try JSONScanner.members(ofObject: buffer, in: nested)
            XCTAssertEqual(inner.map(\.key), ["k", "n"])
            XCTAssertEqual(inner.map(\.value), [5..<8, 13..<14])
            let absolute = inner.map { (nested.lowerBound + $0.value.lowerBound)..<(nested.lowerBound + $0.value.upperBound) }
            XCTAssertEqual(absolute.map { String(decoding: bytes[$0], as: UTF8.self) }, [#""v""#, "2"])
        }
    }

    func testMembersInARangeThatIsNotAnObjectThrow() throws {
        let bytes = Array(#"{"x":[1,2],"y":"s"}"#.utf8)
        try bytes.withUnsafeBytes { buffer in
            XCTAssertThrowsError(try JSONScanner.members(ofObject: buffer, in: 5..<10))  // [1,2]
            XCTAssertThrowsError(try JSONScanner.members(ofObject: buffer, in: 15..<18)) // "s"
            XCTAssertThrowsError(try JSONScanner.members(ofObject: buffer, in: 0..<10))  // cut short
        }
    }

    // MARK: Malformed input

    func testEmptyAndBlankInputThrow() {
        assertMalformed("")
        assertMalformed("   \n\t")
    }

    func testInputThatIsNotAnObjectThrows() {
        for text in ["[]", "[1,2]", #""x""#, "1", "-1", "null", "true", "false", "x", "}", "{}}"] {
            assertMalformed(text)
        }
    }

    func testTruncatedObjectsThrow() {
        for text in ["{", "{\"", "{\"a", "{\"a\"", "{\"a\":", "{\"a\": ", "{\"a\":1", "{\"a\":1,", "{\"a\":{\"b\":1}", "{\"a\":[1,2"] {
            assertMalformed(text)
        }
    }

    func testMissingColonThrows() {
        assertMalformed(#"{"a" 1}"#)
        assertMalformed(#"{"a"}"#)
        assertMalformed(#"{"a","b":1}"#)
    }

    func testBadSeparatorsThrow() {
        assertMalformed(#"{"a":1,}"#)
        assertMalformed(#"{"a":1 , }"#)
        assertMalformed(#"{,}"#)
        assertMalformed(#"{,"a":1}"#)
        assertMalformed(#"{"a":1,,"b":2}"#)
        assertMalformed(#"{"a":1 "b":2}"#)
        assertMalformed(#"{"a"::1}"#)
    }

    func testMemberNamesMustBeStrings() {
        assertMalformed("{a:1}")
        assertMalformed("{1:1}")
        assertMalformed("{'a':1}")
        assertMalformed("{null:1}")
    }

    func testTrailingBytesAfterTheObjectThrow() {
        assertMalformed(#"{"a":1}x"#)
        assertMalformed(#"{"a":1}{}"#)
        assertMalformed(#"{"a":1} ,"#)
        assertMalformed("{}\n}")
        assertMalformed([UInt8]("{}".utf8) + [0])
    }

    func testUnterminatedStringsThrow() {
        assertMalformed(#"{"a":"abc}"#)
        assertMalformed(#"{"abc:1}"#)
        assertMalformed(#"{"a":"abc\"}"#)
        assertMalformed(#"{"a":["abc]}"#)
    }

    func testControlCharactersInStringsThrow() {
        for control: UInt8 in [0x00, 0x01, 0x09, 0x0A, 0x0D, 0x1F] {
            let inValue = Array(#"{"a":"x"#.utf8) + [control] + Array(#"y"}"#.utf8)
            let inKey = Array(#"{"x"#.utf8) + [control] + Array(#"y":1}"#.utf8)
            let inNested = Array(#"{"a":["x"#.utf8) + [control] + Array(#"y"]}"#.utf8)
            assertMalformed(inValue)
            assertMalformed(inKey)
            assertMalformed(inNested)
        }
    }

    func testUnknownLiteralsAndUnexpectedBytesThrow() {
        assertMalformed(#"{"a":tru}"#)
        assertMalformed(#"{"a":truex}"#)
        assertMalformed(#"{"a":nul}"#)
        assertMalformed(#"{"a":nulls}"#)
        assertMalformed(#"{"a":fals}"#)
        assertMalformed(#"{"a":@}"#)
        assertMalformed(#"{"a":'x'}"#)
        assertMalformed(#"{"a":}"#)
    }

    func testBadUnicodeEscapeInAKeyThrows() {
        assertMalformed(#"{"\u12":1}"#)
        assertMalformed(#"{"\uZZZZ":1}"#)
    }

    /// Found by Tests/Fuzz (json-scanner): the member scan read `1"` as one
    /// number, while the scan of an enclosing value (`isValue`, nested
    /// objects) read a number and the start of a string, so the two disagreed.
    func testAScalarEndsWhereAStringOrANestedValueBegins() {
        assertMalformed(#"{"a":1"}"#)
        assertMalformed(#"{"a":1"x"}"#)
        assertMalformed(#"{"a":true"x"}"#)
        assertMalformed(#"{"a":1{}"#)
        assertMalformed(#"{"a":1[}"#)
        assertMalformed(#"{"id":4:"stream","endpoint":"ticker"}"#)
        let bytes = Array(#"{"a":1"}"#.utf8)
        XCTAssertFalse(bytes.withUnsafeBytes { JSONScanner.isValue($0) })
    }

    // MARK: Deep nesting

    func testTenThousandNestedObjectsScan() throws {
        let depth = 10_000
        let text = String(repeating: #"{"a":"#, count: depth) + "1" + String(repeating: "}", count: depth)
        let members = try scan(text)
        XCTAssertEqual(members.map { $0.key }, ["a"])
        XCTAssertEqual(members.first?.raw,
                       String(repeating: #"{"a":"#, count: depth - 1) + "1" + String(repeating: "}", count: depth - 1))
    }

    func testTenThousandNestedArraysInAValueScan() throws {
        let depth = 10_000
        let nested = String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
        let members = try scan(#"{"a":"# + nested + #","b":2}"#)
        XCTAssertEqual(members.map { $0.key }, ["a", "b"])
        XCTAssertEqual(members.map { $0.raw }, [nested, "2"])
    }

    func testDeepNestingThatNeverClosesThrows() {
        let depth = 10_000
        assertMalformed(#"{"a":"# + String(repeating: "[", count: depth))
        assertMalformed(String(repeating: #"{"a":"#, count: depth) + "1")
        assertMalformed(#"{"a":"# + String(repeating: "[", count: depth) + String(repeating: "]", count: depth - 1) + "}")
    }

    // MARK: string(_:in:)

    func testStringDecodesTheWholeRange() {
        XCTAssertEqual(string(#""hello""#), "hello")
        XCTAssertEqual(string(#""""#), "")
        XCTAssertEqual(string(#""a\"b\\c\/d\n\t\r\b\f""#), "a\"b\\c/d\n\t\r\u{8}\u{C}")
        XCTAssertEqual(string(#""\u00e9\u0041""#), "éA")
        XCTAssertEqual(string(#""\ud83d\ude00!""#), "😀!")
        XCTAssertEqual(string(#""é😀""#), "é😀")
    }

    func testStringFindsAValueInsideALargerBuffer() {
        let text = #"xx"hi"yy"#
        XCTAssertEqual(string(text, in: 2..<6), "hi")
        XCTAssertNil(string(text, in: 2..<7), "a range past the closing quote")
        XCTAssertNil(string(text, in: 2..<5), "a range that stops before the closing quote")
        XCTAssertNil(string(text, in: 1..<6), "a range that does not start at the quote")
    }

    func testStringIsNilForAnythingElse() {
        XCTAssertNil(string("12"))
        XCTAssertNil(string("null"))
        XCTAssertNil(string("{}"))
        XCTAssertNil(string(#"["a"]"#))
        XCTAssertNil(string(#"""#))
        XCTAssertNil(string(""))
        XCTAssertNil(string(#""abc"#), "unterminated")
        XCTAssertNil(string(#""a"b""#), "more than one string")
        XCTAssertNil(string(#""\u12""#), "short \\u escape")
        XCTAssertNil(string(#""\uZZZZ""#), "\\u escape that is not hexadecimal")
        XCTAssertNil(string("\"a\u{1}b\""), "raw control character")
    }

    // MARK: isIdentifier(_:in:)

    func testStringsAndIntegersAreIdentifiers() {
        XCTAssertTrue(isIdentifier(#""a1""#))
        XCTAssertTrue(isIdentifier(#""""#))
        XCTAssertTrue(isIdentifier(#""a\"b""#))
        XCTAssertTrue(isIdentifier("0"))
        XCTAssertTrue(isIdentifier("42"))
        XCTAssertTrue(isIdentifier("-7"))
        XCTAssertTrue(isIdentifier("1234567890123456789"), "19 digits")
        XCTAssertTrue(isIdentifier("-1234567890123456789"), "19 digits and a sign")
    }

    func testOtherValuesAreNotIdentifiers() {
        XCTAssertFalse(isIdentifier(""))
        XCTAssertFalse(isIdentifier("-"))
        XCTAssertFalse(isIdentifier("12345678901234567890"), "20 digits")
        XCTAssertFalse(isIdentifier("1.5"))
        XCTAssertFalse(isIdentifier("1e3"))
        XCTAssertFalse(isIdentifier("+1"))
        XCTAssertFalse(isIdentifier("true"))
        XCTAssertFalse(isIdentifier("null"))
        XCTAssertFalse(isIdentifier("{}"))
        XCTAssertFalse(isIdentifier("[1]"))
        XCTAssertFalse(isIdentifier(#""abc"#), "unterminated string")
        XCTAssertFalse(isIdentifier("1 "), "a trailing space in the range")
    }

    func testTheIntegerSignIsOptionalAndSingle() {
        // ws-envelope.md: "an integer (at most 19 digits, optional `-`)".
        XCTAssertFalse(isIdentifier("--5"))
        XCTAssertFalse(isIdentifier("---1"))
    }

    func testIdentifierIsJudgedOnTheRangeOnly() {
        let text = #"x42y"a"z"#
        XCTAssertTrue(isIdentifier(text, in: 1..<3))
        XCTAssertFalse(isIdentifier(text, in: 0..<3))
        XCTAssertFalse(isIdentifier(text, in: 1..<4))
        XCTAssertTrue(isIdentifier(text, in: 4..<7))
        XCTAssertFalse(isIdentifier(text, in: 4..<8))
        XCTAssertFalse(isIdentifier(text, in: 3..<3))
    }

    // MARK: Strict escapes

    func testOnlyTheEscapesJSONDefinesAreDecoded() throws {
        XCTAssertEqual(try scan(#"{"a\"b\\c\/d\b\f\n\r\t":1}"#).first?.key, "a\"b\\c/d\u{08}\u{0C}\n\r\t")
        assertMalformed(#"{"\x41":1}"#)
        assertMalformed(#"{"\a":1}"#)
        XCTAssertNil(string(#""\q""#))
    }

    func testAUnicodeEscapeNeedsFourHexDigits() throws {
        XCTAssertEqual(try scan(#"{"\u00e9":1}"#).first?.key, "é")
        assertMalformed(#"{"\u+0e9":1}"#)
        assertMalformed(#"{"\u00g9":1}"#)
        assertMalformed(#"{"\u12":1}"#)
    }

    func testSurrogatesMustComeInPairs() throws {
        XCTAssertEqual(try scan(#"{"\ud83d\ude00":1}"#).first?.key, "😀")
        assertMalformed(#"{"\ud83d":1}"#)          // high, then the end
        assertMalformed(#"{"\ud83dx":1}"#)         // high, then a plain character
        assertMalformed(#"{"\ud83d\n":1}"#)        // high, then another escape
        assertMalformed(#"{"\ude00":1}"#)          // low alone
        assertMalformed(#"{"\ud83d\ud83d":1}"#)    // high twice
    }

    func testABackslashBeforeAControlCharacterIsMalformed() {
        assertMalformed([UInt8](#"{"a\"#.utf8) + [0x0A] + [UInt8](#"":1}"#.utf8))
    }
}
