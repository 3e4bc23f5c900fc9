import Foundation
import XCTest

/// One endpoint, one middleware chain, three protocols: HTTP, WebSocket and
/// TCP give the same answers and the same refusals.
final class CrossProtocolTests: IntegrationTestCase {
    func testSameEndpointGivesTheSameAnswerOverHTTPWSAndTCP() throws {
        let (kernel, wsPort, tcpPort) = try startKernelWithAllTransports()
        let http = try HTTP.call(port: kernel.httpPort, "greet", #"{"name":"ada"}"#)
        XCTAssertEqual(http.status, 200, http.summary)

        let ws = try WSTestClient(port: wsPort)
        defer { ws.close() }
        let tcp = try TCPTestClient(port: tcpPort)
        defer { tcp.close() }
        let overWS = try ws.call("greet", ["name": "ada"])
        let overTCP = try tcp.call("greet", ["name": "ada"])
        for (name, answer) in [("ws", overWS), ("tcp", overTCP)] {
            XCTAssertEqual(answer["type"] as? String, "result", "\(name): \(answer)")
            XCTAssertEqual(answer["id"] as? Int, 1, "\(name): \(answer)")
            XCTAssertEqual(answer["result"] as? [String: String], http.json as? [String: String], "\(name): \(answer)")
            // Response metadata set by the middleware travels too (a header on HTTP).
            XCTAssertEqual((answer["meta"] as? [String: String])?["x-hello-middleware"], http.header("x-hello-middleware"))
        }

        // Errors carry the same code and details.
        let invalid = try HTTP.call(port: kernel.httpPort, "greet", #"{"name":""}"#)
        for client in [ws, tcp] as [EnvelopeTestClient] {
            let answer = try client.call("greet", ["name": ""], id: "v")
            XCTAssertEqual(answer["type"] as? String, "error", "\(answer)")
            XCTAssertEqual(answer["id"] as? String, "v", "\(answer)")
            XCTAssertEqual(answer.envelopeErrorCode, invalid.errorCode, "\(answer)")
            let details = (answer["error"] as? [String: Any])?["details"] as? [String: Any]
            XCTAssertEqual((details?["fields"] as? [[String: Any]])?.first?["field"] as? String, "name", "\(answer)")
        }
        let missing = try ws.call("no.such.endpoint")
        XCTAssertEqual(missing.envelopeErrorCode, "not_found", "\(missing)")
    }

    func testMiddlewareRejectsAnUnauthenticatedCallOnAllThreeProtocols() throws {
        let (kernel, wsPort, tcpPort) = try startKernelWithAllTransports()
        let denied = try HTTP.call(port: kernel.httpPort, "hello", headers: [("X-Deny", "yes")])
        XCTAssertEqual(denied.status, 401, denied.summary)

        let ws = try WSTestClient(port: wsPort)
        defer { ws.close() }
        let tcp = try TCPTestClient(port: tcpPort)
        defer { tcp.close() }
        for (name, client) in [("ws", ws), ("tcp", tcp)] as [(String, EnvelopeTestClient)] {
            // meta names are case-insensitive, like HTTP headers.
            let rejected = try client.call("hello", meta: ["X-Deny": "yes"])
            XCTAssertEqual(rejected.envelopeErrorCode, "unauthorized", "\(name): \(rejected)")
            // Streams pass through the same chain.
            let stream = try client.stream("hello.ticker", ["count": 3, "intervalMs": 0], id: 2)
            XCTAssertEqual(stream.last["type"] as? String, "end", "\(name): \(stream.last)")
            try client.send(["id": 3, "type": "stream", "endpoint": "hello.ticker", "payload": ["count": 3], "meta": ["x-deny": "1"]])
            let rejectedStream = try client.readMessage()
            XCTAssertEqual(rejectedStream.envelopeErrorCode, "unauthorized", "\(name): \(rejectedStream)")
            let allowed = try client.call("hello", id: 4)
            XCTAssertEqual((allowed["result"] as? [String: Any])?["message"] as? String, "hello", "\(name): \(allowed)")
        }
    }
}
