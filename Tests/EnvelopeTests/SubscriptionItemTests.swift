import EnvelopeJSON
import EnvelopeTransport
import Foundation
import NIOCore
import XCTest

/// ServerMessage.subscriptionItem and .unsubscribed: the client's id spliced
/// into the handler's object with its bytes otherwise unchanged, and the
/// plain `item` for anything that is not an object.
final class SubscriptionItemTests: XCTestCase {
    private func spliced(id: String, _ item: String) -> String {
        var buffer = ByteBuffer()
        ServerMessage.subscriptionItem(id: id, item: ByteBuffer(string: item), into: &buffer)
        return String(buffer: buffer)
    }

    /// The members of `text` in order, as keys and raw values.
    private func members(_ text: String) throws -> [(key: String, value: String)] {
        let bytes = Array(text.utf8)
        return try bytes.withUnsafeBytes { raw in
            try JSONScanner.members(ofObject: raw).map { ($0.key, String(decoding: raw[$0.value], as: UTF8.self)) }
        }
    }

    func testTheIdComesFirstAndTheItemFollowsByteForByte() {
        let event = #"{"type":"event","offset":42,"topic":"orders.created","payload":{"n":1.50},"context":{}}"#
        XCTAssertEqual(spliced(id: "7", event),
                       #"{"id":7,"type":"event","offset":42,"topic":"orders.created","payload":{"n":1.50},"context":{}}"#)
        XCTAssertEqual(spliced(id: #""sub-1""#, #"{"type":"gap","oldest":50,"dropped":3}"#),
                       #"{"id":"sub-1","type":"gap","oldest":50,"dropped":3}"#)
    }

    func testTheResultIsOneJSONObjectWithTheIdFirst() throws {
        let text = spliced(id: #""a\"b""#, #"{"type":"subscribed","gap":false,"oldest":1,"head":41}"#)
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        XCTAssertEqual(object["id"] as? String, "a\"b")
        XCTAssertEqual(object["type"] as? String, "subscribed")
        XCTAssertEqual(object["head"] as? Int, 41)
        XCTAssertEqual(try members(text).first?.key, "id")
    }

    func testAnEventsOwnIdFollowsTheSubscriptionsId() throws {
        // An event has an `id` of its own: the subscription's is the first member, the event's comes after it.
        let text = spliced(id: "7", #"{"type":"event","offset":1,"id":"e-1"}"#)
        let found = try members(text)
        XCTAssertEqual(found.map(\.key), ["id", "type", "offset", "id"])
        XCTAssertEqual(found.first?.value, "7")
        XCTAssertEqual(found.last?.value, #""e-1""#)
    }

    func testAnEmptyObjectGetsNoDanglingComma() {
        XCTAssertEqual(spliced(id: "1", "{}"), #"{"id":1}"#)
        XCTAssertEqual(spliced(id: "1", "{ }"), #"{"id":1 }"#)
    }

    func testAnItemThatIsNotAnObjectIsAPlainItem() throws {
        for item in [#"[1,2]"#, #""text""#, "42", " {\"type\":\"event\"}", "null"] {
            let text = spliced(id: "9", item)
            let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], text)
            XCTAssertEqual(object["type"] as? String, "item", text)
            XCTAssertEqual(object["id"] as? Int, 9, text)
        }
        XCTAssertEqual(spliced(id: "9", "[1,2]"), #"{"type":"item","id":9,"payload":[1,2]}"#)
    }

    func testAnItemThatDoesNotStartTheBufferIsSplicedFromItsReadableBytes() {
        var item = ByteBuffer(string: #"xx{"type":"event"}"#)
        item.moveReaderIndex(forwardBy: 2)
        var buffer = ByteBuffer(string: "kept")
        ServerMessage.subscriptionItem(id: "3", item: item, into: &buffer)
        XCTAssertEqual(String(buffer: buffer), #"kept{"id":3,"type":"event"}"#)
    }

    func testUnsubscribedEchoesTheId() {
        var buffer = ByteBuffer()
        ServerMessage.unsubscribed(id: #""s""#, into: &buffer)
        XCTAssertEqual(String(buffer: buffer), #"{"type":"unsubscribed","id":"s"}"#)
    }
}
