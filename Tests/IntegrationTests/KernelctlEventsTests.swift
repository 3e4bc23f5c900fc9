import Foundation
import XCTest

/// `kernelctl events publish|stats` and `topics list` against a stand-in
/// `pubsub` plugin (PubsubStandIn): what they send, and how they print the
/// answers, as text and with --json.
final class KernelctlEventsTests: IntegrationTestCase {
    private func startKernelWithStandIn() throws -> KernelProcess {
        let kernel = try startKernel()
        try PubsubStandIn.install(into: kernel)
        XCTAssertTrue(waitUntil(timeout: 20) {
            let plugins = (try? kernel.adminResult("list")["plugins"] as? [[String: Any]]) ?? []
            return plugins.contains { $0["name"] as? String == "pubsub" }
        }, "the pubsub stand-in did not load")
        return kernel
    }

    private func succeeded(_ result: ProgramResult, file: StaticString = #filePath, line: UInt = #line) -> String {
        XCTAssertEqual(result.status, 0, "stderr \(result.stderr) stdout \(result.stdout)", file: file, line: line)
        return result.stdout
    }

    private func object(_ text: String, file: StaticString = #filePath, line: UInt = #line) -> [String: Any] {
        let object = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any]
        XCTAssertNotNil(object, "not a JSON object: \(text)", file: file, line: line)
        return object ?? [:]
    }

    func testPublishSendsTheParsedPayloadAndContext() throws {
        let kernel = try startKernelWithStandIn()
        let text = succeeded(try kernelctl(kernel, ["events", "publish", "orders.created", #"{"order":7,"paid":true}"#]))
        XCTAssertEqual(text, "published orders.created at offset 42\n")

        let answer = object(succeeded(try kernelctl(kernel, [
            "events", "publish", "orders.created", #"{"order":7}"#, "--context", #"{"tenant":"acme"}"#, "--json",
        ])))
        XCTAssertEqual(answer["offset"] as? Int, 42)
        XCTAssertEqual(answer["createdAt"] as? String, "2026-12-01T10:00:00.123Z")
        let request = answer["request"] as? [String: Any] ?? [:]
        XCTAssertEqual(request["topic"] as? String, "orders.created")
        XCTAssertEqual((request["payload"] as? [String: Any])?["order"] as? Int, 7, "the payload goes as JSON, not as text")
        XCTAssertEqual((request["context"] as? [String: Any])?["tenant"] as? String, "acme")

        // Any JSON value is a payload; without --context none is sent.
        let scalar = object(succeeded(try kernelctl(kernel, ["events", "publish", "audit.note", #""hi""#, "--json"])))
        XCTAssertEqual((scalar["request"] as? [String: Any])?["payload"] as? String, "hi")
        XCTAssertNil((scalar["request"] as? [String: Any])?["context"])
    }

    func testPublishRefusesJSONThatDoesNotParseBeforeSending() throws {
        let kernel = try startKernelWithStandIn()
        let bare = try kernelctl(kernel, ["events", "publish", "audit.note", "hello"])
        XCTAssertNotEqual(bare.status, 0)
        XCTAssertTrue(bare.stderr.contains("payload is not valid JSON: 'hello'"), bare.stderr)

        let context = try kernelctl(kernel, ["events", "publish", "audit.note", "{}", "--context", "[1]"])
        XCTAssertNotEqual(context.status, 0)
        XCTAssertTrue(context.stderr.contains("--context is not a JSON object"), context.stderr)
    }

    func testStatsShowsTheCountersThenTheConsumers() throws {
        let kernel = try startKernelWithStandIn()
        XCTAssertEqual(succeeded(try kernelctl(kernel, ["events", "stats"])), """
            head:         120
            oldest:       3
            stored:       118
            published:    120
            delivered:    950
            subscribers:  4
            dropped:      2
            disconnected: 1

            consumers:
              NAME     OWNER   PATTERN   CURSOR  LAG  DEAD  STATE
              billing  orders  orders.*  117     3    0     running

            """)
        let stats = object(succeeded(try kernelctl(kernel, ["events", "stats", "--json"])))
        XCTAssertEqual(stats["head"] as? Int, 120)
        XCTAssertEqual((stats["consumers"] as? [[String: Any]])?.first?["name"] as? String, "billing")
    }

    func testTopicsList() throws {
        let kernel = try startKernelWithStandIn()
        XCTAssertEqual(succeeded(try kernelctl(kernel, ["topics", "list"])), """
            TOPIC           EVENTS  FIRST  LAST  LAST-AT
            orders.created  80      3      120   2026-12-01T10:00:00.123Z
            audit.login     38      5      119   2026-12-01T09:59:58.001Z

            """)
        let topics = object(succeeded(try kernelctl(kernel, ["--json", "topics", "list"])))
        XCTAssertEqual((topics["topics"] as? [[String: Any]])?.count, 2)
    }

    func testWithoutThePubsubPluginTheErrorSaysSo() throws {
        let kernel = try startKernel()
        let result = try kernelctl(kernel, ["events", "stats"])
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.stderr.hasPrefix("kernelctl: not_found"), result.stderr)
        XCTAssertTrue(result.stderr.contains("is the pubsub plugin loaded?"), result.stderr)
    }
}
