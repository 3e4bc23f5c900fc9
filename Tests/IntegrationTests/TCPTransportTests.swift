import Foundation
import XCTest

/// The tcp transport: length-prefixed envelopes, pipelining by id, and what
/// happens to bytes that are not frames.
final class TCPTransportTests: IntegrationTestCase {
    func testPipelinedCallsAreAnsweredByID() throws {
        let (_, _, tcpPort) = try startKernelWithAllTransports()
        let tcp = try TCPTestClient(port: tcpPort)
        defer { tcp.close() }
        var batch: [UInt8] = []
        for n in 0..<100 {
            batch += TCPTestClient.frame(Array(try JSONSerialization.data(withJSONObject: ["id": "c\(n)", "endpoint": "greet", "payload": ["name": "\(n)"]])))
        }
        batch += TCPTestClient.frame([]) // a heartbeat in between is skipped
        try tcp.sendRaw(batch) // one write: a hundred calls
        var answers: [String: String] = [:]
        for _ in 0..<100 {
            let message = try tcp.readMessage()
            let id = try XCTUnwrap(message["id"] as? String)
            answers[id] = (message["result"] as? [String: Any])?["message"] as? String
        }
        for n in 0..<100 { XCTAssertEqual(answers["c\(n)"], "hello, \(n)") }
    }

    func testGarbageBytesGetAnErrorFrameThenClose() throws {
        let (_, _, tcpPort) = try startKernelWithAllTransports()
        let bystander = try TCPTestClient(port: tcpPort)
        defer { bystander.close() }

        // An HTTP request read as a length is far past max_frame_size.
        let http = try TCPTestClient(port: tcpPort)
        defer { http.close() }
        try http.sendRaw(Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
        let tooLarge = try http.readMessage()
        XCTAssertEqual(tooLarge.envelopeErrorCode, "too_large", "\(tooLarge)")
        XCTAssertTrue(tooLarge["id"] is NSNull)
        XCTAssertTrue(http.readEOF(), "the connection should close after the error frame")

        // A well-framed payload that is not JSON.
        let notJSON = try TCPTestClient(port: tcpPort)
        defer { notJSON.close() }
        try notJSON.sendRaw(TCPTestClient.frame(Array("\u{1}\u{2}garbage".utf8)))
        XCTAssertEqual(try notJSON.readMessage().envelopeErrorCode, "invalid_argument")
        XCTAssertTrue(notJSON.readEOF())

        // Random bytes.
        let random = try TCPTestClient(port: tcpPort)
        defer { random.close() }
        try random.sendRaw([0x7F] + (0..<4095).map { _ in UInt8.random(in: 0...255) }) // 0x7F…: a length past any limit
        XCTAssertNotNil(try? random.readMessage().envelopeErrorCode)
        XCTAssertTrue(random.readEOF())

        XCTAssertEqual(try bystander.call("hello")["type"] as? String, "result", "other connections keep working")
    }

    func testOversizeFrameGetsTooLargeThenClose() throws {
        let (_, _, tcpPort) = try startKernelWithAllTransports(settings: ["tcp.max_frame_size=1024"])
        let tcp = try TCPTestClient(port: tcpPort)
        defer { tcp.close() }
        XCTAssertEqual(try tcp.call("greet", ["name": "small"])["type"] as? String, "result")
        try tcp.send(["id": 2, "endpoint": "greet", "payload": ["name": String(repeating: "x", count: 4096)]])
        let answer = try tcp.readMessage()
        XCTAssertEqual(answer.envelopeErrorCode, "too_large", "\(answer)")
        XCTAssertTrue(tcp.readEOF())
        let again = try TCPTestClient(port: tcpPort)
        defer { again.close() }
        XCTAssertEqual(try again.call("hello")["type"] as? String, "result")
    }

    func testAnEnvelopeErrorWithAnIDKeepsTheConnection() throws {
        let (_, _, tcpPort) = try startKernelWithAllTransports()
        let tcp = try TCPTestClient(port: tcpPort)
        defer { tcp.close() }
        try tcp.send(["id": 1, "type": "bogus"])
        XCTAssertEqual(try tcp.readMessage().envelopeErrorCode, "invalid_argument")
        try tcp.send(["id": 2, "type": "item", "payload": [:]])
        XCTAssertEqual(try tcp.readMessage().envelopeErrorCode, "not_found")
        XCTAssertEqual(try tcp.call("hello", id: 3)["type"] as? String, "result")
    }

    func testHalfCloseStillGetsTheAnswersThenClose() throws {
        let (_, _, tcpPort) = try startKernelWithAllTransports()
        let tcp = try TCPTestClient(port: tcpPort)
        defer { tcp.close() }
        try tcp.send(["id": 1, "type": "stream", "endpoint": "hello.ticker", "payload": ["count": 3, "intervalMs": 50]])
        try tcp.send(["id": 2, "endpoint": "hello"])
        tcp.shutdownWrite()
        var finals: [Int] = []
        while finals.count < 2 {
            let message = try tcp.readMessage()
            if message["type"] as? String != "item" { finals.append(message["id"] as? Int ?? 0) }
        }
        XCTAssertEqual(finals, [2, 1])
        XCTAssertTrue(tcp.readEOF(), "the server closes once the answers are out")
    }

    /// Heartbeats (empty frames) are traffic: an idle connection that sends them stays open (tcp-framing.md §4).
    func testHeartbeatsKeepAnIdleConnectionOpen() throws {
        let (_, _, tcpPort) = try startKernelWithAllTransports(settings: ["tcp.idle_timeout_ms=600"])
        let tcp = try TCPTestClient(port: tcpPort)
        for _ in 0..<10 {
            try tcp.sendRaw([0, 0, 0, 0])
            usleep(200_000)
        }
        XCTAssertEqual(try tcp.call("hello")["type"] as? String, "result", "closed after 2 s of heartbeats")
    }
}
