import Foundation
import JSONSchema
import XCTest

/// The parser accepts what JSONDecoder accepts and says where input goes
/// wrong; `JSONValue`'s Codable conformance keeps booleans and numbers apart.
final class JSONValueTests: XCTestCase {
    private func parse(_ text: String) throws -> JSONValue { try JSONValue.parse(Array(text.utf8)) }

    private func parseError(_ text: String) -> String? {
        do {
            _ = try JSONValue.parse(Array(text.utf8))
            return nil
        } catch {
            return error.description
        }
    }

    func testTopLevelFragments() throws {
        XCTAssertEqual(try parse("3"), .integer(3))
        XCTAssertEqual(try parse(#" "x" "#), .string("x"))
        XCTAssertEqual(try parse("null"), .null)
        XCTAssertEqual(try parse("true"), .bool(true))
        XCTAssertEqual(try parse("-2.5e1"), .number(-25))
    }

    func testValues() throws {
        let value = try parse(#"{"a": [1, 2.5, "s\n\u00e9\ud83d\ude00", false, null], "b": {}, "a": "second"}"#)
        // A repeated key keeps its first value, as JSONDecoder does.
        XCTAssertEqual(value, ["a": [1, 2.5, "s\né😀", false, nil], "b": [:]])
        XCTAssertEqual(value.description, #"{"a":[1,2.5,"s\né😀",false,null],"b":{}}"#)
    }

    func testNumbers() throws {
        XCTAssertEqual(try parse("9223372036854775807"), .integer(Int64.max))
        XCTAssertEqual(try parse("12345678901234567890"), .number(1.2345678901234567e19))
        XCTAssertEqual(try parse("1.0"), .integer(1)) // equal as JSON numbers
        XCTAssertTrue(try parse("1.0").isInteger)
        XCTAssertFalse(try parse("1.5").isInteger)
        XCTAssertNotEqual(JSONValue.integer(9007199254740993), .number(9007199254740992))
        XCTAssertEqual(Set<JSONValue>([1, 1.0, "1"]).count, 2)
    }

    func testErrorsSayWhere() {
        XCTAssertEqual(parseError("[1,"), "unexpected end of input at offset 3")
        XCTAssertEqual(parseError("[1,]"), "unexpected ']' at offset 3")
        XCTAssertEqual(parseError("01"), "unexpected '1' at offset 1")
        XCTAssertEqual(parseError("1."), "unexpected end of input at offset 2")
        XCTAssertEqual(parseError("tru"), "unexpected end of input at offset 3")
        XCTAssertEqual(parseError("nul!"), "unexpected '!' at offset 3")
        XCTAssertEqual(parseError(#"{"a" 1}"#), "unexpected '1' at offset 5")
        XCTAssertEqual(parseError("1e400"), "number out of range at offset 0")
        XCTAssertEqual(parseError(#""\ud800""#), "unpaired surrogate in string at offset 1")
        XCTAssertEqual(parseError(#""\x""#), "invalid escape in string at offset 1")
        XCTAssertEqual(parseError("\"a\u{1}\""), "control character in string at offset 2")
        XCTAssertEqual(parseError("NaN"), "unexpected 'N' at offset 0")
        XCTAssertEqual(parseError("[] []"), "unexpected '[' at offset 3")
        XCTAssertEqual(try? JSONValue.parse([0x22, 0xFF, 0x22]), nil) // invalid UTF-8
    }

    func testDepthLimit() {
        let deep = String(repeating: "[", count: 300) + String(repeating: "]", count: 300)
        XCTAssertEqual(parseError(deep), "nested deeper than 256 levels at offset 256")
        XCTAssertNoThrow(try JSONValue.parse(Array(deep.utf8), maxDepth: 300))
    }

    func testCodableKeepsBooleansAndNumbersApart() throws {
        let decoded = try JSONDecoder().decode(JSONValue.self, from: Data(#"[0, 1, true, 1.5, "s", null, {"k": []}]"#.utf8))
        XCTAssertEqual(decoded, [.integer(0), .integer(1), .bool(true), .number(1.5), "s", nil, ["k": []]])
        guard case .array(let items) = decoded else { return XCTFail("not an array") }
        if case .bool = items[1] { XCTFail("1 decoded as a Bool") }
        if case .integer = items[2] { XCTFail("true decoded as a number") }
        XCTAssertEqual(try JSONDecoder().decode(JSONValue.self, from: Data("3".utf8)), 3)
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let text = String(decoding: try encoder.encode(decoded), as: UTF8.self)
        XCTAssertEqual(text, #"[0,1,true,1.5,"s",null,{"k":[]}]"#)
    }
}
