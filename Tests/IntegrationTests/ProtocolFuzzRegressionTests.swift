import Foundation
import Glibc
import XCTest

/// Inputs the live protocol fuzzer (Tests/Fuzz/protocol_fuzz.py) found
/// mishandled, each kept as a test.
final class ProtocolFuzzRegressionTests: IntegrationTestCase {
    /// `permessage-deflate;=` (an empty parameter) made the ws transport index past the end and trap.
    func testAnEmptyDeflateParameterIsRefusedNotFatal() throws {
        let (kernel, wsPort, _) = try startKernelWithAllTransports()
        let worker = try kernel.workerPID()
        for offer in ["permessage-deflate;=", "permessage-deflate; ; client_no_context_takeover"] {
            let socket = try BlockingSocket.tcp(port: wsPort, timeout: 5)
            try socket.sendAll(Array("""
                GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
                Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
                Sec-WebSocket-Extensions: \(offer)\r\n\r\n
                """.utf8))
            let answer = String(decoding: try socket.receive() ?? [], as: UTF8.self)
            XCTAssertTrue(answer.hasPrefix("HTTP/1.1 101"), answer)
            XCTAssertFalse(answer.lowercased().contains("permessage-deflate"), "an invalid offer was accepted: \(answer)")
            socket.close()
        }
        XCTAssertEqual(try kernel.workerPID(), worker, "the worker was restarted")
    }

    /// A client's FIN left a bidirectional stream waiting for items forever (and its connection open).
    func testTheClientsFINEndsItsBidirectionalStreams() throws {
        let (kernel, _, tcpPort) = try startKernelWithAllTransports()
        let tcp = try TCPTestClient(port: tcpPort)
        try tcp.send(["id": 1, "type": "stream", "endpoint": "hello.chat", "payload": ["name": "ada"]])
        try tcp.send(["id": 1, "type": "item", "payload": ["text": "hi"]])
        XCTAssertEqual(try tcp.readMessage()["type"] as? String, "item")
        tcp.shutdownWrite()
        var last = try tcp.readMessage()
        while last["type"] as? String == "item" { last = try tcp.readMessage() }
        XCTAssertEqual(last["type"] as? String, "end", "\(last)")
        XCTAssertTrue(tcp.readEOF(), "the connection stayed open")
        waitForStreamCounts(kernel) { ($0["active"] as? Int) == 0 }
    }

    /// One byte every 200 ms never completes a frame: the connection is closed at the idle timeout anyway.
    func testAFrameTrickledInByteByByteDoesNotHoldTheConnection() throws {
        let (_, wsPort, tcpPort) = try startKernelWithAllTransports(settings: ["tcp.idle_timeout_ms=600", "ws.idle_timeout_ms=600"])
        for port in [tcpPort, wsPort] {
            let socket = try BlockingSocket.tcp(port: port, timeout: 5)
            let started = Date()
            var closed = false
            let trickle: [UInt8] = port == tcpPort ? [0, 0, 0, 200] + Array(repeating: 0x20, count: 40) : Array("GET / HTTP/1.1\r\nX-Slow: \(String(repeating: "a", count: 40))".utf8)
            for byte in trickle {
                do { try socket.sendAll([byte]) } catch { closed = true; break }
                usleep(200_000)
                if Date().timeIntervalSince(started) > 6 { break }
            }
            if !closed { closed = (try? socket.receive()) == nil }
            XCTAssertTrue(closed, "port \(port) kept a trickling connection open for \(Date().timeIntervalSince(started)) s")
            XCTAssertLessThan(Date().timeIntervalSince(started), 6)
            socket.close()
        }
    }

    /// An error the transport makes itself (404) ignored the client's `Connection: close`.
    func testConnectionCloseHoldsForTransportErrors() throws {
        let kernel = try startKernel()
        let socket = try BlockingSocket.tcp(port: kernel.httpPort, timeout: 5)
        try socket.sendAll(Array("GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".utf8))
        var answer: [UInt8] = []
        while let chunk = try socket.receive() { answer += chunk } // ends at the server's close
        let text = String(decoding: answer, as: UTF8.self).lowercased()
        XCTAssertTrue(text.hasPrefix("http/1.1 404"), text)
        XCTAssertTrue(text.contains("connection: close"), text)
    }
}
