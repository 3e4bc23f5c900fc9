import EnvelopeTransport
import Foundation
import NIOCore
import XCTest

/// `subscribe` and `unsubscribe` (Protocols/ws-envelope.md section 10):
/// the shape checks, and the stream call a subscribe becomes.
final class SubscribeMessageTests: XCTestCase {
    // MARK: Helpers

    private func parse(_ text: String) -> Result<ClientMessage, ClientMessage.Refusal> {
        ClientMessage.parse(ByteBuffer(string: text))
    }

    /// The call `text` starts (a test failure if it is anything else).
    private func subscription(_ text: String, file: StaticString = #filePath, line: UInt = #line) -> ClientMessage.CallStart? {
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

    /// Asserts `text` is refused as `invalid_argument` for `id`, with a message that mentions `field`.
    private func assertRefused(_ text: String, id: String?, mentioning field: String,
                               file: StaticString = #filePath, line: UInt = #line) {
        switch parse(text) {
        case .success(let message):
            XCTFail("accepted \(text) as \(message)", file: file, line: line)
        case .failure(let refusal):
            XCTAssertEqual(refusal.code, "invalid_argument", text, file: file, line: line)
            XCTAssertEqual(refusal.id, id, text, file: file, line: line)
            XCTAssertTrue(refusal.message.contains(field), "\(text): \(refusal.message)", file: file, line: line)
        }
    }

    private func payload(_ text: String, file: StaticString = #filePath, line: UInt = #line) -> String? {
        subscription(text, file: file, line: line).map { String(buffer: $0.payload) }
    }

    // MARK: Good shapes

    func testSubscribeIsAStreamCallToPubsubSubscribe() {
        guard let call = subscription(#"{"type":"subscribe","id":7,"patterns":["orders.*","audit.#"]}"#) else { return }
        XCTAssertEqual(call.id, "7")
        XCTAssertEqual(call.endpoint, "pubsub.subscribe")
        XCTAssertTrue(call.isStream)
        XCTAssertTrue(call.isSubscription)
        XCTAssertTrue(call.meta.isEmpty)
        XCTAssertEqual(String(buffer: call.payload), #"{"patterns":["orders.*","audit.#"]}"#)
    }

    func testOtherCallsAreNotSubscriptions() {
        guard case .success(.call(let stream)) = parse(#"{"type":"stream","id":1,"endpoint":"pubsub.subscribe"}"#) else {
            return XCTFail("not a call")
        }
        XCTAssertFalse(stream.isSubscription)
    }

    func testSinceAndOverflowAreCopiedAsSent() {
        XCTAssertEqual(payload(#"{"type":"subscribe","id":1,"patterns":["a"],"since":123}"#),
                       #"{"patterns":["a"],"since":123}"#)
        XCTAssertEqual(payload(#"{"type":"subscribe","id":1,"patterns":["a"],"since":"2026-12-01T10:00:00Z"}"#),
                       #"{"patterns":["a"],"since":"2026-12-01T10:00:00Z"}"#)
        XCTAssertEqual(payload(#"{"type":"subscribe","id":1,"patterns":["a"],"overflow":"drop"}"#),
                       #"{"patterns":["a"],"overflow":"drop"}"#)
        XCTAssertEqual(payload(#"{"overflow":"disconnect","since":0,"patterns":[ "a" , "b.\u002a" ],"type":"subscribe","id":"s"}"#),
                       #"{"patterns":[ "a" , "b.\u002a" ],"since":0,"overflow":"disconnect"}"#)
    }

    func testNullSinceAndOverflowAreLeftOut() {
        XCTAssertEqual(payload(#"{"type":"subscribe","id":1,"patterns":["a"],"since":null,"overflow":null}"#),
                       #"{"patterns":["a"]}"#)
    }

    func testOtherFieldsStayOutOfThePayload() {
        XCTAssertEqual(payload(#"{"type":"subscribe","id":1,"patterns":["a"],"endpoint":"x","payload":{"p":1},"extra":2}"#),
                       #"{"patterns":["a"]}"#)
        XCTAssertEqual(subscription(#"{"type":"subscribe","id":1,"patterns":["a"],"endpoint":"x"}"#)?.endpoint,
                       "pubsub.subscribe")
    }

    func testPayloadReadsBackAsJSON() throws {
        let text = #"{"type":"subscribe","id":1,"patterns":["a\"b","c\\d"],"since":-1,"overflow":"x\u0041"}"#
        guard let call = subscription(text) else { return }
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(call.payload.readableBytesView)) as? [String: Any])
        XCTAssertEqual(object["patterns"] as? [String], ["a\"b", "c\\d"])
        XCTAssertEqual(object["since"] as? Int, -1)
        XCTAssertEqual(object["overflow"] as? String, "xA")
    }

    func testMetaBecomesTheCallsMeta() {
        let text = #"{"type":"subscribe","id":1,"patterns":["a"],"meta":{"Authorization":"Bearer t"}}"#
        guard let call = subscription(text) else { return }
        XCTAssertEqual(call.meta.map { $0.name }, ["authorization"])
        XCTAssertEqual(call.meta.map { $0.value }, ["Bearer t"])
        XCTAssertEqual(String(buffer: call.payload), #"{"patterns":["a"]}"#)
    }

    // MARK: Bad shapes

    func testPatternsMustBeANonEmptyArrayOfStrings() {
        for patterns in ["[]", "[ ]", #""a""#, "null", "5", "{}", #"[1]"#, #"["a",1]"#, #"["a",null]"#, #"[["a"]]"#,
                         #"["a",]"#, #"[,"a"]"#, #"["a" "b"]"#, #"["a\q"]"#] {
            assertRefused(#"{"type":"subscribe","id":3,"patterns":"# + patterns + "}", id: "3", mentioning: "patterns")
        }
        assertRefused(#"{"type":"subscribe","id":3}"#, id: "3", mentioning: "patterns")
    }

    func testSinceMustBeAnIntegerOrAString() {
        for since in ["1.5", "1e3", "true", "{}", #"["1"]"#, "12345678901234567890"] {
            assertRefused(#"{"type":"subscribe","id":"s","patterns":["a"],"since":"# + since + "}", id: #""s""#,
                          mentioning: "since")
        }
    }

    func testOverflowMustBeAString() {
        for overflow in ["1", "true", "{}", #"["drop"]"#] {
            assertRefused(#"{"type":"subscribe","id":4,"patterns":["a"],"overflow":"# + overflow + "}", id: "4",
                          mentioning: "overflow")
        }
    }

    func testMetaMustBeAnObjectOfStrings() {
        assertRefused(#"{"type":"subscribe","id":5,"patterns":["a"],"meta":{"a":1}}"#, id: "5", mentioning: "meta")
        assertRefused(#"{"type":"subscribe","id":5,"patterns":["a"],"meta":"x"}"#, id: "5", mentioning: "meta")
    }

    func testSubscribeWithoutIdIsRefusedWithoutId() {
        guard case .failure(let refusal) = parse(#"{"type":"subscribe","patterns":["a"]}"#) else { return XCTFail("accepted") }
        XCTAssertNil(refusal.id)
    }

    // MARK: unsubscribe

    func testUnsubscribe() {
        guard case .success(.unsubscribe(let id)) = parse(#"{"type":"unsubscribe","id":"s1"}"#) else {
            return XCTFail("not an unsubscribe")
        }
        XCTAssertEqual(id, #""s1""#)
    }

    func testUnsubscribeWithoutIdIsRefusedWithoutId() {
        guard case .failure(let refusal) = parse(#"{"type":"unsubscribe"}"#) else { return XCTFail("accepted") }
        XCTAssertNil(refusal.id)
        XCTAssertEqual(refusal.code, "invalid_argument")
    }

    // MARK: Array scan

    func testStringArrayCount() {
        func count(_ text: String) -> Int? {
            Array(text.utf8).withUnsafeBytes { ClientMessage.stringArrayCount($0, in: 0..<$0.count) }
        }
        XCTAssertEqual(count("[]"), 0)
        XCTAssertEqual(count(#"["a"]"#), 1)
        XCTAssertEqual(count(#"[ "a" ,"b\"]" , "" ]"#), 3)
        XCTAssertEqual(count(#"["\\"]"#), 1)
        XCTAssertNil(count(#"["a""#))
        XCTAssertNil(count(#"["a"] "#))
        XCTAssertNil(count(#"["a\"]"#))
        XCTAssertNil(count("["))
        XCTAssertNil(count(""))
    }
}
