import Foundation
import XCTest

/// The observe plugin: request ids in and out, one log line per call, the
/// request id in errors and in what a request causes, Server-Timing, stats;
/// and the kernel's lifecycle events and internal-error rule.
final class ObserveMiddlewareTests: MiddlewareTestCase {
    func testRequestIDIsAdoptedOrMadeAndReturnedOnEveryProtocol() throws {
        let stack = try startStack()
        let adopted = try HTTP.call(port: stack.http, "probe.whoami", headers: [("X-Request-Id", "req-abc.123")])
        XCTAssertEqual(adopted.status, 200, adopted.summary)
        XCTAssertEqual(adopted.header("x-request-id"), "req-abc.123")
        XCTAssertEqual(adopted.json?["requestID"] as? String, "req-abc.123")

        let made = try HTTP.call(port: stack.http, "probe.whoami")
        let madeID = try XCTUnwrap(made.header("x-request-id"))
        XCTAssertFalse(madeID.isEmpty)
        XCTAssertEqual(made.json?["requestID"] as? String, madeID)

        // A hostile id (spaces, quotes) is not adopted: it would land in headers and logs as is.
        let hostile = try HTTP.call(port: stack.http, "probe.whoami", headers: [("X-Request-Id", "a \"b\"")])
        XCTAssertNotEqual(hostile.header("x-request-id"), "a \"b\"")

        for (name, client) in try envelopeClients(stack) {
            defer { client.close() }
            let answer = try client.call("probe.whoami", meta: ["x-request-id": "env-\(name)"])
            XCTAssertEqual((answer["result"] as? [String: Any])?["requestID"] as? String, "env-\(name)", "\(answer)")
            XCTAssertEqual(answer.envelopeMeta?["x-request-id"], "env-\(name)", "\(answer)")
        }
    }

    func testOneLogLinePerCallWithTheRequestIDAndNoSecretHeaders() throws {
        let root = NSTemporaryDirectory() + "observe-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let logFile = root + "/access.log"
        let stack = try startStack(settings: ["observe.log_file=\(logFile)", "observe.log_format=json",
                                              "observe.log_headers=user-agent,authorization"])
        let response = try HTTP.call(port: stack.http, "probe.person", #"{"name":"ada","age":36}"#,
                                     headers: [("X-Request-Id", "log-1"), ("User-Agent", "tests"), ("Authorization", "Bearer secret-token")])
        XCTAssertEqual(response.status, 200, response.summary)
        let ws = try WSTestClient(port: stack.ws)
        defer { ws.close() }
        _ = try ws.call("probe.whoami", meta: ["x-request-id": "log-2"])

        var lines: [[String: Any]] = []
        XCTAssertTrue(waitUntil(timeout: 10) {
            let text = (try? String(contentsOfFile: logFile, encoding: .utf8)) ?? ""
            lines = text.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
            return lines.contains { $0["request_id"] as? String == "log-2" }
        }, "log lines: \(lines)")
        let http = try XCTUnwrap(lines.first { $0["request_id"] as? String == "log-1" })
        XCTAssertEqual(http["protocol"] as? String, "http")
        XCTAssertEqual(http["endpoint"] as? String, "probe.person")
        XCTAssertEqual(http["method"] as? String, "POST")
        XCTAssertEqual(http["path"] as? String, "/api/probe.person")
        XCTAssertEqual(http["status"] as? Int, 200)
        XCTAssertEqual(http["bytes_in"] as? Int, #"{"name":"ada","age":36}"#.utf8.count)
        XCTAssertEqual(http["bytes_out"] as? Int, response.body.count)
        XCTAssertNotNil(http["duration_ms"] as? Double)
        XCTAssertTrue((http["peer"] as? String)?.hasPrefix("127.0.0.1:") ?? false, "\(http)")
        XCTAssertEqual(http["header.user-agent"] as? String, "tests")
        XCTAssertEqual(http["header.authorization"] as? String, "[redacted]")
        let text = try String(contentsOfFile: logFile, encoding: .utf8)
        XCTAssertFalse(text.contains("secret-token"))
        let wsLine = try XCTUnwrap(lines.first { $0["request_id"] as? String == "log-2" })
        XCTAssertEqual(wsLine["protocol"] as? String, "ws")
        XCTAssertEqual(lines.filter { $0["request_id"] as? String == "log-1" }.count, 1)
    }

    func testTheRequestIDReachesTheJobAndTheCallItCaused() throws {
        let stack = try startStack()
        let response = try HTTP.call(port: stack.http, "probe.cause", headers: [("X-Request-Id", "cause-42")])
        XCTAssertEqual(response.status, 200, response.summary)
        XCTAssertEqual(response.json?["requestID"] as? String, "cause-42")
        XCTAssertEqual(response.json?["innerRequestID"] as? String, "cause-42")
        // The job's own log line (request.log) carries the id of the request that enqueued it.
        let line = stack.kernel.waitForLogLine(containing: ["probe job ran", "request_id=cause-42"])
        XCTAssertNotNil(line, stack.kernel.log())
    }

    func testErrorsCarryTheRequestIDAndInternalMessagesStayInside() throws {
        let stack = try startStack()
        let invalid = try HTTP.call(port: stack.http, "probe.person", #"{"name":"ada"}"#, headers: [("X-Request-Id", "err-1")])
        XCTAssertEqual(invalid.status, 422, invalid.summary)
        XCTAssertEqual((invalid.json?["error"] as? [String: Any]).flatMap { ($0["details"] as? [String: Any])?["request_id"] as? String }, "err-1",
                       invalid.summary)

        let boom = try HTTP.call(port: stack.http, "probe.boom", headers: [("X-Request-Id", "boom-1")])
        XCTAssertEqual(boom.status, 500, boom.summary)
        XCTAssertFalse(boom.text.contains("hunter2"), boom.summary)
        XCTAssertEqual((boom.json?["error"] as? [String: Any])?["message"] as? String, "internal error", boom.summary)
        // The kernel's log keeps the real message, with the request id.
        XCTAssertNotNil(stack.kernel.waitForLogLine(containing: ["hunter2", "boom-1"]), stack.kernel.log())

        for (name, client) in try envelopeClients(stack) {
            defer { client.close() }
            let answer = try client.call("probe.boom", meta: ["x-request-id": "boom-\(name)"])
            XCTAssertEqual(answer.envelopeErrorCode, "internal", "\(answer)")
            XCTAssertFalse("\(answer)".contains("hunter2"), "\(answer)")
            XCTAssertEqual(answer.envelopeErrorDetails?["request_id"] as? String, "boom-\(name)", "\(answer)")
        }

        // A plugin's error handler rewrites the message and sees the request.
        let rewritten = try HTTP.call(port: stack.http, "probe.rewrite")
        XCTAssertEqual(rewritten.status, 409, rewritten.summary)
        XCTAssertEqual((rewritten.json?["error"] as? [String: Any])?["message"] as? String, "rewritten for POST conflict", rewritten.summary)
    }

    func testServerTimingAndLatencyStats() throws {
        let stack = try startStack()
        for _ in 0..<5 { _ = try HTTP.call(port: stack.http, "probe.public") }
        let response = try HTTP.call(port: stack.http, "probe.public")
        let timing = try XCTUnwrap(response.header("server-timing"), response.summary)
        XCTAssertTrue(timing.hasPrefix("app;dur="), timing)
        let stats = try stack.kernel.adminResult("call", ["endpoint": "observe.stats", "body": "{}"])
        let body = try XCTUnwrap(stats["body"] as? String)
        let table = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any])
        let entry = try XCTUnwrap(table["probe.public"] as? [String: Any], body)
        XCTAssertEqual(entry["calls"] as? Int, 6, body)
        // Operators only: not over http.
        XCTAssertEqual(try HTTP.call(port: stack.http, "observe.stats").status, 403)
    }

    func testKernelStartedAndStoppingReachPlugins() throws {
        let stack = try startStack()
        XCTAssertNotNil(waitForCall(stack.kernel, "probe.lifecycle", status: 200) {
            ($0.json?["events"] as? [String]) == ["started"]
        })
        _ = stack.kernel.terminate()
        XCTAssertTrue(stack.kernel.log().contains("mwprobe heard kernel.stopping"), stack.kernel.log())
    }
}
