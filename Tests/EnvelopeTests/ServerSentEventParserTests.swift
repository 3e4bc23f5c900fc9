@testable import KernelClient
import XCTest

/// The event stream reader of KernelClient: fields, line endings, comments,
/// and events split across reads.
final class ServerSentEventParserTests: XCTestCase {
    private func events(_ chunks: [String]) -> [ServerSentEventParser.Event] {
        var parser = ServerSentEventParser()
        return chunks.flatMap { parser.feed(Array($0.utf8)) }
    }

    private func event(_ name: String, _ data: String) -> ServerSentEventParser.Event {
        .init(name: name, data: Array(data.utf8))
    }

    func testAnEventWithANameAndData() {
        XCTAssertEqual(events(["id: 42\nevent: event\ndata: {\"offset\":42}\n\n"]), [event("event", #"{"offset":42}"#)])
    }

    func testWithoutANameItIsAMessage() {
        XCTAssertEqual(events(["data: x\n\n"]), [event("message", "x")])
    }

    func testDataLinesAreJoinedByALineFeed() {
        XCTAssertEqual(events(["data: a\ndata:b\ndata:  c\n\n"]), [event("message", "a\nb\n c")])
    }

    func testEveryLineEndingCounts() {
        XCTAssertEqual(events(["event: e\r\ndata: 1\r\n\r\nevent: f\rdata: 2\r\rdata: 3\n\n"]),
                       [event("e", "1"), event("f", "2"), event("message", "3")])
    }

    func testACarriageReturnAndLineFeedSplitAcrossReadsIsOneLineEnd() {
        XCTAssertEqual(events(["data: 1\r", "\n\r", "\n"]), [event("message", "1")])
    }

    func testCommentsAndEventsWithoutDataAreSkipped() {
        XCTAssertEqual(events([": keepalive\n\nevent: lonely\n\nretry: 10\nid: 3\n\ndata: d\n\n"]), [event("message", "d")])
    }

    func testAnEventSplitAnywhereComesOutWhole() {
        let text = "event: gap\ndata: {\"dropped\":3}\n\n"
        for cut in 1..<text.utf8.count {
            let bytes = Array(text.utf8)
            XCTAssertEqual(events([String(decoding: bytes[..<cut], as: UTF8.self), String(decoding: bytes[cut...], as: UTF8.self)]),
                           [event("gap", #"{"dropped":3}"#)], "cut at \(cut)")
        }
    }

    func testNoEventBeforeTheBlankLine() {
        XCTAssertEqual(events(["event: event\ndata: x\n"]), [])
    }
}

/// The wait between a subscription's reconnects.
final class SubscriptionBackoffTests: XCTestCase {
    func testBackoffDoublesUpToTwoSeconds() {
        XCTAssertEqual(SubscriptionDriver.backoff(afterFailures: 1), .milliseconds(50))
        XCTAssertEqual(SubscriptionDriver.backoff(afterFailures: 2), .milliseconds(100))
        XCTAssertEqual(SubscriptionDriver.backoff(afterFailures: 6), .milliseconds(1600))
        XCTAssertEqual(SubscriptionDriver.backoff(afterFailures: 7), .seconds(2))
        XCTAssertEqual(SubscriptionDriver.backoff(afterFailures: 1000), .seconds(2))
    }
}
