import EnvelopeTransport
import NIOCore
import XCTest

/// ClientMessage.parse: the client messages of Protocols/ws-envelope.md
/// section 2 (call, stream, item, end, cancel, ping) and the refusals,
/// with and without an id.
final class ClientMessageTests: XCTestCase {
    // MARK: Helpers

    private func parse(_ text: String) -> Result<ClientMessage, ClientMessage.Refusal> {
        ClientMessage.parse(ByteBuffer(string: text))
    }

    /// The call `text` starts (a test failure if it is anything else).
    private func callStart(_ text: String, file: StaticString = #filePath, line: UInt = #line) -> ClientMessage.CallStart? {
        switch parse(text) {
        case .success(.call(let start)):
            return start
        case .success(let other):
            XCTFail("expected a call, got \(other)", file: file, line: line)
        case .failure(let refusal):
            XCTFail("refused (\(refusal.code)): \(refusal.message)", file: file, line: line)
        }
        return nil
    }

    /// The refusal of `text` (a test failure if it is accepted).
    private func refusalOf(_ text: String, file: StaticString = #filePath, line: UInt = #line) -> ClientMessage.Refusal? {
        switch parse(text) {
        case .success(let message):
            XCTFail("accepted \(text) as \(message)", file: file, line: line)
            return nil
        case .failure(let refusal):
            return refusal
        }
    }

    /// Asserts `text` is refused as `invalid_argument`, naming `id` (nil: no usable id).
    private func assertRefused(_ text: String, id: String?, file: StaticString = #filePath, line: UInt = #line) {
        guard let refusal = refusalOf(text, file: file, line: line) else { return }
        XCTAssertEqual(refusal.code, "invalid_argument", text, file: file, line: line)
        XCTAssertEqual(refusal.id, id, text, file: file, line: line)
        XCTAssertFalse(refusal.message.isEmpty, text, file: file, line: line)
    }

    private func string(_ buffer: ByteBuffer) -> String { String(buffer: buffer) }

    // MARK: call and stream

    func testCallWithAnIntegerId() {
        guard let call = callStart(#"{"id":1,"endpoint":"greet","payload":{"name":"ada"}}"#) else { return }
        XCTAssertEqual(call.id, "1")
        XCTAssertEqual(call.endpoint, "greet")
        XCTAssertEqual(string(call.payload), #"{"name":"ada"}"#)
        XCTAssertTrue(call.meta.isEmpty)
        XCTAssertFalse(call.isStream)
    }

    func testTypeCallIsTheDefault() {
        guard let explicit = callStart(#"{"type":"call","id":2,"endpoint":"hello"}"#),
              let implicit = callStart(#"{"id":2,"endpoint":"hello"}"#) else { return }
        XCTAssertFalse(explicit.isStream)
        XCTAssertFalse(implicit.isStream)
        XCTAssertEqual(explicit.id, implicit.id)
        XCTAssertEqual(explicit.endpoint, implicit.endpoint)
    }

    func testIdsAreKeptAsTheirRawJSONText() {
        XCTAssertEqual(callStart(#"{"id":"a1","endpoint":"e"}"#)?.id, #""a1""#)
        XCTAssertEqual(callStart(#"{"id":"7","endpoint":"e"}"#)?.id, #""7""#)
        XCTAssertEqual(callStart(#"{"id":7,"endpoint":"e"}"#)?.id, "7")
        XCTAssertEqual(callStart(#"{"id":-42,"endpoint":"e"}"#)?.id, "-42")
        XCTAssertEqual(callStart(#"{"id":"a\"b","endpoint":"e"}"#)?.id, #""a\"b""#)
        XCTAssertEqual(callStart(#"{"id":"","endpoint":"e"}"#)?.id, #""""#)
        XCTAssertEqual(callStart(#"{"id":1234567890123456789,"endpoint":"e"}"#)?.id, "1234567890123456789")
        XCTAssertEqual(callStart(#"{ "id" : "x" , "endpoint" : "e" }"#)?.id, #""x""#)
    }

    func testStreamIsACallThatStreams() {
        guard let stream = callStart(#"{"id":"s","type":"stream","endpoint":"hello.ticker","payload":{"count":3}}"#) else { return }
        XCTAssertTrue(stream.isStream)
        XCTAssertEqual(stream.id, #""s""#)
        XCTAssertEqual(stream.endpoint, "hello.ticker")
        XCTAssertEqual(string(stream.payload), #"{"count":3}"#)
    }

    func testPayloadIsPassedOnExactlyAsSent() {
        let payload = #"{ "a" : [1, 2.50, "x\"y", null], "b":{} }"#
        XCTAssertEqual(callStart(#"{"id":1,"endpoint":"e","payload":"# + payload + "}").map { string($0.payload) }, payload)
        XCTAssertEqual(callStart(#"{"id":1,"endpoint":"e","payload":"text"}"#).map { string($0.payload) }, #""text""#)
        XCTAssertEqual(callStart(#"{"id":1,"endpoint":"e","payload":12}"#).map { string($0.payload) }, "12")
        XCTAssertEqual(callStart(#"{"id":1,"endpoint":"e","payload":null}"#).map { string($0.payload) }, "null")
        XCTAssertEqual(callStart(#"{"id":1,"endpoint":"e","payload":[]}"#).map { string($0.payload) }, "[]")
    }

    func testAbsentPayloadIsAnEmptyBody() {
        XCTAssertEqual(callStart(#"{"id":1,"endpoint":"e"}"#)?.payload.readableBytes, 0)
    }

    func testPayloadIsTakenFromTheReadableBytesOfTheBuffer() {
        // The message does not start at index 0 of its buffer.
        var buffer = ByteBuffer(string: #"ignored{"id":1,"endpoint":"e","payload":{"k":"v"}}"#)
        buffer.moveReaderIndex(forwardBy: "ignored".utf8.count)
        guard case .success(.call(let call)) = ClientMessage.parse(buffer) else { return XCTFail("not a call") }
        XCTAssertEqual(string(call.payload), #"{"k":"v"}"#)
    }

    func testMetaNamesAreLowerCasedAndValuesKept() {
        let message = #"{"id":1,"endpoint":"e","meta":{"Authorization":"Bearer AbC","X-Trace-ID":"T1","plain":"a\"b\\c"}}"#
        guard let call = callStart(message) else { return }
        XCTAssertEqual(call.meta.map { $0.name }, ["authorization", "x-trace-id", "plain"])
        XCTAssertEqual(call.meta.map { $0.value }, ["Bearer AbC", "T1", "a\"b\\c"])
    }

    func testNullOrEmptyMetaIsNoMeta() {
        XCTAssertEqual(callStart(#"{"id":1,"endpoint":"e","meta":null}"#)?.meta.count, 0)
        XCTAssertEqual(callStart(#"{"id":1,"endpoint":"e","meta":{}}"#)?.meta.count, 0)
    }

    func testUnknownFieldsAreIgnored() {
        guard let call = callStart(#"{"id":1,"endpoint":"e","extra":{"deep":[1,2]},"version":2}"#) else { return }
        XCTAssertEqual(call.endpoint, "e")
        XCTAssertEqual(call.payload.readableBytes, 0)
    }

    func testEndpointEscapesAreDecoded() {
        XCTAssertEqual(callStart(#"{"id":1,"endpoint":"hello\u002efail"}"#)?.endpoint, "hello.fail")
    }

    // MARK: item, end, cancel, ping

    func testItem() {
        guard case .success(.item(let id, let payload)) = parse(#"{"id":3,"type":"item","payload":{"text":"hi"}}"#) else {
            return XCTFail("not an item")
        }
        XCTAssertEqual(id, "3")
        XCTAssertEqual(string(payload), #"{"text":"hi"}"#)
    }

    func testEnd() {
        guard case .success(.end(let id)) = parse(#"{"id":"s1","type":"end"}"#) else { return XCTFail("not an end") }
        XCTAssertEqual(id, #""s1""#)
    }

    func testCancel() {
        guard case .success(.cancel(let id)) = parse(#"{"type":"cancel","id":9}"#) else { return XCTFail("not a cancel") }
        XCTAssertEqual(id, "9")
    }

    func testPingWithAndWithoutId() {
        guard case .success(.ping(let withId)) = parse(#"{"type":"ping","id":"p"}"#) else { return XCTFail("not a ping") }
        XCTAssertEqual(withId, #""p""#)
        guard case .success(.ping(let integerId)) = parse(#"{"type":"ping","id":5}"#) else { return XCTFail("not a ping") }
        XCTAssertEqual(integerId, "5")
        guard case .success(.ping(let noId)) = parse(#"{"type":"ping"}"#) else { return XCTFail("not a ping") }
        XCTAssertNil(noId)
    }

    // MARK: Refusals without a usable id

    func testNotAJSONObjectIsRefusedWithoutId() {
        for text in ["", "nope", "[1]", #""call""#, "42", #"{"id":1"#, #"{"id":1,}"#, #"{"id":1} x"#] {
            assertRefused(text, id: nil)
        }
    }

    func testAnIdThatIsNeitherAStringNorAnIntegerIsRefusedWithoutId() {
        for id in ["1.5", "1e3", "true", "null", "{}", "[1]", "12345678901234567890", "-"] {
            assertRefused(#"{"id":"# + id + #","endpoint":"hello"}"#, id: nil)
        }
        // Even on a ping.
        assertRefused(#"{"type":"ping","id":[1]}"#, id: nil)
    }

    func testAnIntegerIdHasAtMostOneSign() {
        // ws-envelope.md: "an integer (at most 19 digits, optional `-`)".
        assertRefused(#"{"id":--5,"endpoint":"hello"}"#, id: nil)
    }

    func testMissingIdIsRefusedWithoutId() {
        assertRefused(#"{"endpoint":"hello"}"#, id: nil)
        assertRefused(#"{"type":"stream","endpoint":"hello"}"#, id: nil)
        assertRefused(#"{"type":"item","payload":{}}"#, id: nil)
        assertRefused(#"{"type":"end"}"#, id: nil)
        assertRefused(#"{"type":"cancel"}"#, id: nil)
        assertRefused("{}", id: nil)
    }

    // MARK: Refusals that name the id

    func testMissingOrEmptyEndpointIsRefusedWithTheId() {
        assertRefused(#"{"id":1}"#, id: "1")
        assertRefused(#"{"id":"c","type":"stream"}"#, id: #""c""#)
        assertRefused(#"{"id":1,"endpoint":""}"#, id: "1")
        assertRefused(#"{"id":1,"endpoint":5}"#, id: "1")
        assertRefused(#"{"id":1,"endpoint":null}"#, id: "1")
        assertRefused(#"{"id":1,"endpoint":["hello"]}"#, id: "1")
    }

    func testBadTypeIsRefusedWithTheId() {
        assertRefused(#"{"id":1,"type":"bogus","endpoint":"hello"}"#, id: "1")
        assertRefused(#"{"id":1,"type":"CALL","endpoint":"hello"}"#, id: "1")
        assertRefused(#"{"id":"t","type":5,"endpoint":"hello"}"#, id: #""t""#)
        assertRefused(#"{"id":"t","type":null,"endpoint":"hello"}"#, id: #""t""#)
    }

    func testMetaThatIsNotAnObjectOfStringsIsRefusedWithTheId() {
        assertRefused(#"{"id":1,"endpoint":"e","meta":"x"}"#, id: "1")
        assertRefused(#"{"id":1,"endpoint":"e","meta":["a","b"]}"#, id: "1")
        assertRefused(#"{"id":1,"endpoint":"e","meta":5}"#, id: "1")
        assertRefused(#"{"id":1,"endpoint":"e","meta":{"a":1}}"#, id: "1")
        assertRefused(#"{"id":1,"endpoint":"e","meta":{"a":"ok","b":null}}"#, id: "1")
        assertRefused(#"{"id":1,"endpoint":"e","meta":{"a":{"b":"c"}}}"#, id: "1")
    }

    func testItemWithoutPayloadIsRefusedWithTheId() {
        assertRefused(#"{"id":4,"type":"item"}"#, id: "4")
    }
}
