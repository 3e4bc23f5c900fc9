import EnvelopeJSON
import EnvelopeTransport
import KernelTransport
import Foundation
import NIOCore
import XCTest

/// ServerMessage: the server messages of Protocols/ws-envelope.md section 3
/// parse as JSON, carry the fields the spec lists, embed bodies as sent, and
/// escape strings so that they read back unchanged.
final class ServerMessageTests: XCTestCase {
    // MARK: Helpers

    private func object(_ buffer: ByteBuffer, file: StaticString = #filePath, line: UInt = #line) throws -> [String: Any] {
        let bytes = Data(buffer.readableBytesView)
        guard let object = try JSONSerialization.jsonObject(with: bytes) as? [String: Any] else {
            XCTFail("not a JSON object: \(String(buffer: buffer))", file: file, line: line)
            return [:]
        }
        return object
    }

    /// The raw text of member `key` of the object in `buffer`, as the scanner finds it.
    private func raw(_ key: String, in buffer: ByteBuffer) throws -> String? {
        try buffer.withUnsafeReadableBytes { bytes in
            try JSONScanner.members(ofObject: bytes).last { $0.key == key }
                .map { String(decoding: bytes[$0.value], as: UTF8.self) }
        }
    }

    /// `text` written by `writeString`, read back by JSONSerialization.
    private func roundTrip(_ text: String) throws -> String? {
        var buffer = ByteBuffer(string: "[")
        buffer.writeJSONString(text)
        buffer.writeString("]")
        let array = try JSONSerialization.jsonObject(with: Data(buffer.readableBytesView)) as? [String]
        return array?.first
    }

    private func written(_ text: String) -> String {
        var buffer = ByteBuffer()
        buffer.writeJSONString(text)
        return String(buffer: buffer)
    }

    private func integer(_ value: Any?) -> Int? {
        if let value = value as? Int { return value }
        return (value as? NSNumber)?.intValue
    }

    /// Every C0 control character, and the characters JSON escapes or might be expected to.
    private let awkward = (0..<0x20).map { String(Character(Unicode.Scalar(UInt8($0)))) }.joined()
        + "\"\\/\u{7F} é € 😀 \u{2028}\u{2029} end"

    // MARK: result and end

    func testResultOfACall() throws {
        var buffer = ByteBuffer()
        ServerMessage.result(id: "7", stream: false, body: ByteBuffer(string: #"{"message":"hello"}"#),
                             contentType: "application/json", meta: [("x-hello-middleware", "1")], into: &buffer)
        let message = try object(buffer)
        XCTAssertEqual(message["type"] as? String, "result")
        XCTAssertEqual(integer(message["id"]), 7)
        XCTAssertEqual((message["result"] as? [String: Any])?["message"] as? String, "hello")
        XCTAssertEqual(message["meta"] as? [String: String], ["x-hello-middleware": "1"])
    }

    func testEndOfAStream() throws {
        var buffer = ByteBuffer()
        ServerMessage.result(id: #""s""#, stream: true, body: ByteBuffer(string: "{}"), contentType: "application/json",
                             meta: [], into: &buffer)
        let message = try object(buffer)
        XCTAssertEqual(message["type"] as? String, "end")
        XCTAssertEqual(message["id"] as? String, "s")
        XCTAssertEqual((message["result"] as? [String: Any])?.count, 0)
        XCTAssertNil(message["meta"], "no meta when there is none")
    }

    func testIdIsEchoedByteForByte() throws {
        for id in ["7", #""7""#, "-42", #""a\"b""#, #""""#, "1234567890123456789"] {
            var buffer = ByteBuffer()
            ServerMessage.result(id: id, stream: false, body: ByteBuffer(string: "1"), contentType: "", meta: [], into: &buffer)
            XCTAssertEqual(try raw("id", in: buffer), id)
            XCTAssertNoThrow(try object(buffer), id)
        }
    }

    func testJSONBodyIsEmbeddedAsSent() throws {
        let body = #"{ "a" : [1, 2.50, "x\"y\n", null, true], "b" : { } }"#
        var buffer = ByteBuffer()
        ServerMessage.result(id: "1", stream: false, body: ByteBuffer(string: body), contentType: "application/json; charset=utf-8",
                             meta: [], into: &buffer)
        XCTAssertEqual(try raw("result", in: buffer), body)
        let result = try object(buffer)["result"] as? [String: Any]
        XCTAssertEqual((result?["a"] as? [Any])?.count, 5)
    }

    func testEmptyBodyIsNull() throws {
        var buffer = ByteBuffer()
        ServerMessage.result(id: "1", stream: false, body: ByteBuffer(), contentType: "application/json", meta: [], into: &buffer)
        let message = try object(buffer)
        XCTAssertTrue(message["result"] is NSNull, "\(String(describing: message["result"]))")
    }

    func testNonJSONBodyIsAString() throws {
        let text = "line \"one\"\n\ttwo\\ three {not json}"
        var buffer = ByteBuffer()
        ServerMessage.result(id: "1", stream: false, body: ByteBuffer(string: text), contentType: "text/plain; charset=utf-8",
                             meta: [], into: &buffer)
        XCTAssertEqual(try object(buffer)["result"] as? String, text)

        // JSON content type, but a body that cannot start JSON: a string too.
        var other = ByteBuffer()
        ServerMessage.result(id: "1", stream: false, body: ByteBuffer(string: "hello"), contentType: "application/json",
                             meta: [], into: &other)
        XCTAssertEqual(try object(other)["result"] as? String, "hello")
    }

    func testMetaNamesAndValuesAreEscaped() throws {
        let meta = [("x-plain", "1"), ("x-awkward", awkward), ("x-\"quoted\"", "v")]
        var buffer = ByteBuffer()
        ServerMessage.result(id: "1", stream: false, body: ByteBuffer(string: "{}"), contentType: "application/json",
                             meta: meta, into: &buffer)
        XCTAssertEqual(try object(buffer)["meta"] as? [String: String],
                       ["x-plain": "1", "x-awkward": awkward, "x-\"quoted\"": "v"])
    }

    // MARK: item

    func testItemWithAJSONPayloadEmbedsIt() throws {
        let payload = #"{"n":1,"of":3}"#
        var buffer = ByteBuffer()
        ServerMessage.item(id: "2", payload: ByteBuffer(string: payload), into: &buffer)
        let message = try object(buffer)
        XCTAssertEqual(message["type"] as? String, "item")
        XCTAssertEqual(integer(message["id"]), 2)
        XCTAssertEqual(integer((message["payload"] as? [String: Any])?["n"]), 1)
        XCTAssertEqual(try raw("payload", in: buffer), payload)
    }

    func testItemWithATextPayloadSendsAString() throws {
        let text = "plain words: \"quoted\"\n"
        var buffer = ByteBuffer()
        ServerMessage.item(id: #""i""#, payload: ByteBuffer(string: text), into: &buffer)
        let message = try object(buffer)
        XCTAssertEqual(message["id"] as? String, "i")
        XCTAssertEqual(message["payload"] as? String, text)
    }

    // MARK: error

    func testErrorWithIdCodeMessageAndDetails() throws {
        let details = #"{"fields":[{"field":"name","message":"must not be empty"}]}"#
        var buffer = ByteBuffer()
        ServerMessage.error(id: #""v""#, code: "validation", message: "name: must not be empty", details: Array(details.utf8),
                            into: &buffer)
        let message = try object(buffer)
        XCTAssertEqual(message["type"] as? String, "error")
        XCTAssertEqual(message["id"] as? String, "v")
        let error = message["error"] as? [String: Any]
        XCTAssertEqual(error?["code"] as? String, "validation")
        XCTAssertEqual(error?["message"] as? String, "name: must not be empty")
        let fields = (error?["details"] as? [String: Any])?["fields"] as? [[String: String]]
        XCTAssertEqual(fields, [["field": "name", "message": "must not be empty"]])
    }

    func testErrorWithoutIdHasANullId() throws {
        var buffer = ByteBuffer()
        ServerMessage.error(id: nil, code: "invalid_argument", message: "not a JSON object", into: &buffer)
        let message = try object(buffer)
        XCTAssertEqual(message["type"] as? String, "error")
        XCTAssertTrue(message["id"] is NSNull, "\(String(describing: message["id"]))")
        XCTAssertEqual((message["error"] as? [String: Any])?["code"] as? String, "invalid_argument")
    }

    func testErrorDetailsAreAlwaysAnObject() throws {
        for details in ["", "[1,2]", #""text""#, "null"] {
            var buffer = ByteBuffer()
            ServerMessage.error(id: "1", code: "internal", message: "m", details: Array(details.utf8), into: &buffer)
            let error = try object(buffer)["error"] as? [String: Any]
            XCTAssertEqual((error?["details"] as? [String: Any])?.count, 0, "details \(String(reflecting: details))")
        }
    }

    func testErrorMessageWithAwkwardCharactersReadsBack() throws {
        var buffer = ByteBuffer()
        ServerMessage.error(id: "1", code: "internal", message: awkward, into: &buffer)
        XCTAssertEqual((try object(buffer)["error"] as? [String: Any])?["message"] as? String, awkward)
    }

    // MARK: pong

    func testPongEchoesTheIdOrNull() throws {
        var withId = ByteBuffer()
        ServerMessage.pong(id: #""p""#, into: &withId)
        let answer = try object(withId)
        XCTAssertEqual(answer["type"] as? String, "pong")
        XCTAssertEqual(answer["id"] as? String, "p")

        var integerId = ByteBuffer()
        ServerMessage.pong(id: "5", into: &integerId)
        XCTAssertEqual(integer(try object(integerId)["id"]), 5)

        var noId = ByteBuffer()
        ServerMessage.pong(id: nil, into: &noId)
        let bare = try object(noId)
        XCTAssertEqual(bare["type"] as? String, "pong")
        XCTAssertTrue(bare["id"] is NSNull, "\(String(describing: bare["id"]))")
    }

    // MARK: writeString

    func testStringsReadBackUnchanged() throws {
        for text in ["", "plain", "quote \" here", "back\\slash", "new\nline", "cr\r tab\t", "nul \u{0} unit \u{1F}", awkward] {
            XCTAssertEqual(try roundTrip(text), text, String(reflecting: text))
        }
    }

    func testEveryControlCharacterReadsBackAlone() throws {
        for value in 0..<0x20 {
            let text = "a" + String(Character(Unicode.Scalar(UInt8(value)))) + "b"
            XCTAssertEqual(try roundTrip(text), text, "U+\(String(value, radix: 16))")
        }
    }

    func testEscapesAreTheOnesJSONRequires() {
        XCTAssertEqual(written("a\"b"), #""a\"b""#)
        XCTAssertEqual(written("a\\b"), #""a\\b""#)
        XCTAssertEqual(written("a\nb\rc\td"), #""a\nb\rc\td""#)
        // No raw control character is left in the output.
        let controls = (0..<0x20).map { String(Character(Unicode.Scalar(UInt8($0)))) }.joined()
        XCTAssertFalse(written(controls).utf8.contains { $0 < 0x20 }, written(controls))
        // Nothing else is escaped: non-ASCII text and '/' pass as they are.
        XCTAssertEqual(written("é € 😀 / \u{7F}"), "\"é € 😀 / \u{7F}\"")
    }
}
