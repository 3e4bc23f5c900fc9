import Foundation
import XCTest

/// The ws transport against RFC 6455 and its envelope: raw frames, the close
/// codes the RFC asks for, and many calls on one connection.
final class WSTransportTests: IntegrationTestCase {
    func testManyConcurrentCallsOnOneConnectionAreAnsweredByID() throws {
        let (_, wsPort, _) = try startKernelWithAllTransports()
        let ws = try WSTestClient(port: wsPort)
        defer { ws.close() }
        // A slow stream first: the fast calls sent after it are answered before it ends.
        try ws.send(["id": "slow", "type": "stream", "endpoint": "hello.ticker", "payload": ["count": 2, "intervalMs": 500]])
        let count = 200
        for n in 0..<count { try ws.send(["id": n, "endpoint": "greet", "payload": ["name": "n\(n)"]]) }
        var answered: [Int: String] = [:]
        var slowEndedAfter: Int?
        while answered.count < count || slowEndedAfter == nil {
            let message = try ws.readMessage()
            if message["id"] as? String == "slow" {
                if message["type"] as? String == "end" { slowEndedAfter = answered.count }
                continue
            }
            let id = try XCTUnwrap(message["id"] as? Int, "\(message)")
            XCTAssertNil(answered[id], "answered twice: \(id)")
            answered[id] = (message["result"] as? [String: Any])?["message"] as? String
        }
        XCTAssertEqual(answered.count, count)
        for n in 0..<count { XCTAssertEqual(answered[n], "hello, n\(n)") }
        XCTAssertEqual(slowEndedAfter, count, "the slow stream should end after every fast call was answered")
    }

    func testFragmentedMessageWithPingBetweenFragments() throws {
        let (_, wsPort, _) = try startKernelWithAllTransports()
        let ws = try WSTestClient(port: wsPort)
        defer { ws.close() }
        let message = Array(#"{"id":7,"endpoint":"greet","payload":{"name":"frag"}}"#.utf8)
        try ws.sendFrame(opcode: WSTestClient.text, Array(message[0..<10]), fin: false)
        try ws.sendFrame(opcode: WSTestClient.ping, Array("p1".utf8))
        try ws.sendFrame(opcode: WSTestClient.continuation, Array(message[10..<30]), fin: false)
        try ws.sendFrame(opcode: WSTestClient.continuation, Array(message[30...]), fin: true)
        let pong = try XCTUnwrap(ws.readFrame())
        XCTAssertEqual(pong.opcode, WSTestClient.pong)
        XCTAssertEqual(pong.text, "p1", "a pong echoes the ping's payload")
        let answer = try ws.readMessage()
        XCTAssertEqual((answer["result"] as? [String: Any])?["message"] as? String, "hello, frag", "\(answer)")
        XCTAssertEqual(answer["id"] as? Int, 7)
    }

    func testCloseHandshakeEchoesTheCode() throws {
        let (_, wsPort, _) = try startKernelWithAllTransports()
        let ws = try WSTestClient(port: wsPort)
        defer { ws.close() }
        try ws.sendClose(code: 1000, reason: "bye")
        let close = try XCTUnwrap(ws.readClose(), "no close frame")
        XCTAssertEqual(close.closeCode, 1000)
        XCTAssertTrue(ws.readEOF(), "the server should close the socket after the handshake")
    }

    func testOversizeMessagesAreClosedWith1009AndOthersKeepWorking() throws {
        let (_, wsPort, _) = try startKernelWithAllTransports(settings: ["ws.max_message_size=1024"])
        let bystander = try WSTestClient(port: wsPort)
        defer { bystander.close() }

        let single = try WSTestClient(port: wsPort)
        defer { single.close() }
        try single.sendFrame(opcode: WSTestClient.text, Array(repeating: UInt8(ascii: "a"), count: 4096))
        XCTAssertEqual(try single.readClose()?.closeCode, 1009, "one frame over the limit")

        // Fragments that are each small but add up past the limit.
        let fragmented = try WSTestClient(port: wsPort)
        defer { fragmented.close() }
        try fragmented.sendFrame(opcode: WSTestClient.text, Array(repeating: UInt8(ascii: "a"), count: 700), fin: false)
        try fragmented.sendFrame(opcode: WSTestClient.continuation, Array(repeating: UInt8(ascii: "a"), count: 700), fin: true)
        XCTAssertEqual(try fragmented.readClose()?.closeCode, 1009, "fragments over the limit")

        let answer = try bystander.call("hello")
        XCTAssertEqual(answer["type"] as? String, "result", "\(answer)")
    }

    func testInvalidUTF8IsClosedWith1007() throws {
        let (_, wsPort, _) = try startKernelWithAllTransports()
        let ws = try WSTestClient(port: wsPort)
        defer { ws.close() }
        try ws.sendFrame(opcode: WSTestClient.text, Array(#"{"id":1,"endpoint":"hello","x":""#.utf8) + [0xC3, 0x28] + Array("\"}".utf8))
        XCTAssertEqual(try ws.readClose()?.closeCode, 1007)

        // Split inside a multi-byte character across fragments is fine; the whole is valid.
        let split = try WSTestClient(port: wsPort)
        defer { split.close() }
        let text = Array(#"{"id":2,"endpoint":"greet","payload":{"name":"é"}}"#.utf8)
        let cut = text.firstIndex(of: 0xC3)! + 1
        try split.sendFrame(opcode: WSTestClient.text, Array(text[..<cut]), fin: false)
        try split.sendFrame(opcode: WSTestClient.continuation, Array(text[cut...]), fin: true)
        let answer = try split.readMessage()
        XCTAssertEqual((answer["result"] as? [String: Any])?["message"] as? String, "hello, é", "\(answer)")
    }

    func testProtocolViolationsAreClosedWith1002() throws {
        let (_, wsPort, _) = try startKernelWithAllTransports()
        let violations: [(String, [UInt8])] = [
            ("unmasked frame", WSTestClient.encode(opcode: WSTestClient.text, Array("{}".utf8), masked: false)),
            ("reserved bit", WSTestClient.encode(opcode: WSTestClient.text, Array("{}".utf8), rsv: 0b100)),
            ("continuation without a message", WSTestClient.encode(opcode: WSTestClient.continuation, Array("{}".utf8))),
            ("reserved opcode", WSTestClient.encode(opcode: 0x3, [])),
            ("fragmented ping", WSTestClient.encode(opcode: WSTestClient.ping, [], fin: false)),
            ("long ping", WSTestClient.encode(opcode: WSTestClient.ping, Array(repeating: 0, count: 126))),
            ("new message inside a fragmented one",
             WSTestClient.encode(opcode: WSTestClient.text, Array("{".utf8), fin: false)
                + WSTestClient.encode(opcode: WSTestClient.text, Array("{}".utf8))),
            ("close code 1005", WSTestClient.encode(opcode: WSTestClient.close, [0x03, 0xED])),
            ("one-byte close", WSTestClient.encode(opcode: WSTestClient.close, [0x03])),
        ]
        for (name, bytes) in violations {
            let ws = try WSTestClient(port: wsPort)
            defer { ws.close() }
            try ws.sendFrame(opcode: WSTestClient.ping, []) // a valid frame first: the violation comes mid-stream
            _ = try ws.readFrame()
            try ws.sendRaw(bytes)
            XCTAssertEqual(try ws.readClose()?.closeCode, 1002, name)
        }
        let binary = try WSTestClient(port: wsPort)
        defer { binary.close() }
        try binary.sendFrame(opcode: WSTestClient.binary, Array("{}".utf8))
        XCTAssertEqual(try binary.readClose()?.closeCode, 1003, "binary messages")

        let ws = try WSTestClient(port: wsPort)
        defer { ws.close() }
        XCTAssertEqual(try ws.call("hello")["type"] as? String, "result", "a new connection still works")
    }

    func testMalformedEnvelopesAreAnsweredWithErrorsAndTheConnectionStays() throws {
        let (_, wsPort, _) = try startKernelWithAllTransports()
        let ws = try WSTestClient(port: wsPort)
        defer { ws.close() }
        try ws.sendText("this is not json")
        let garbage = try ws.readMessage()
        XCTAssertEqual(garbage["type"] as? String, "error", "\(garbage)")
        XCTAssertTrue(garbage["id"] is NSNull, "\(garbage)")
        XCTAssertEqual(garbage.envelopeErrorCode, "invalid_argument")

        try ws.send(["id": 5, "payload": [:]])
        let noEndpoint = try ws.readMessage()
        XCTAssertEqual(noEndpoint["id"] as? Int, 5, "\(noEndpoint)")
        XCTAssertEqual(noEndpoint.envelopeErrorCode, "invalid_argument")

        try ws.send(["id": 6, "type": "ping"])
        XCTAssertEqual(try ws.readMessage()["type"] as? String, "pong")
        XCTAssertEqual(try ws.call("hello", id: 8)["type"] as? String, "result")
    }

    func testIdleConnectionIsClosedWith1001() throws {
        let (_, wsPort, _) = try startKernelWithAllTransports(settings: ["ws.idle_timeout_ms=300"])
        let ws = try WSTestClient(port: wsPort)
        defer { ws.close() }
        let started = Date()
        XCTAssertEqual(try ws.readClose()?.closeCode, 1001)
        XCTAssertLessThan(Date().timeIntervalSince(started), 5)
    }

    func testPlainHTTPOnTheWebSocketPortIs426() throws {
        let (_, wsPort, _) = try startKernelWithAllTransports()
        let health = try HTTP.request(port: wsPort, "GET", "/healthz")
        XCTAssertEqual(health.status, 200, health.summary)
        let plain = try HTTP.request(port: wsPort, "GET", "/")
        XCTAssertEqual(plain.status, 426, plain.summary)
    }

    /// The server pings; a peer that answers stays (and its calls work), one
    /// that stops answering is dropped once the pong timeout passes.
    func testAPeerThatStopsAnsweringPingsIsDropped() throws {
        let (_, wsPort, _) = try startKernelWithAllTransports(
            settings: ["ws.ping_interval_ms=100", "ws.pong_timeout_ms=400", "ws.idle_timeout_ms=60000"])
        let ws = try WSTestClient(port: wsPort)
        defer { ws.close() }
        var answered = 0
        while answered < 3 {
            guard let frame = try ws.readFrame() else { return XCTFail("closed while answering pings (\(answered) answered)") }
            XCTAssertNotEqual(frame.opcode, WSTestClient.close, "closed although every ping was answered")
            if frame.opcode == 0x9 {
                try ws.sendFrame(opcode: 0xA, frame.payload)
                answered += 1
            }
        }
        XCTAssertEqual(try ws.call("hello")["type"] as? String, "result", "the connection of a live peer stopped serving")

        // Now silent: pings pile up unanswered until the server gives up on the peer.
        let started = Date()
        while let frame = try ws.readFrame() {
            XCTAssertTrue(frame.opcode == 0x9 || frame.opcode == WSTestClient.text, "unexpected frame \(frame.opcode)")
        }
        XCTAssertLessThan(Date().timeIntervalSince(started), 10, "a silent peer was kept")
    }

    /// Pings do not keep an idle connection open: answering them is not traffic.
    func testAnIdleConnectionThatAnswersPingsIsStillClosed() throws {
        let (_, wsPort, _) = try startKernelWithAllTransports(
            settings: ["ws.ping_interval_ms=50", "ws.pong_timeout_ms=1000", "ws.idle_timeout_ms=400"])
        let ws = try WSTestClient(port: wsPort)
        defer { ws.close() }
        var pings = 0
        while let frame = try ws.readFrame() {
            if frame.opcode == 0x9 {
                pings += 1
                try ws.sendFrame(opcode: 0xA, frame.payload)
            } else if frame.opcode == WSTestClient.close {
                XCTAssertEqual(frame.closeCode, 1001, frame.text)
                XCTAssertGreaterThan(pings, 0, "closed before any ping: the test proves nothing")
                return
            }
        }
        XCTFail("the socket closed without a close frame")
    }

    /// permessage-deflate with a real client (Python's `websockets`): agreed
    /// in the upgrade, large messages both ways, the window carried over many
    /// messages, nothing when the client does not ask, and a message that
    /// would inflate past the limit closed with 1009.
    func testPerMessageDeflateWithARealClient() throws {
        let limit = 1 << 20
        let (kernel, wsPort, _) = try startKernelWithAllTransports(settings: ["ws.max_message_size=\(limit)"])
        let script = Products.repositoryRoot + "/Tests/IntegrationTests/Scripts/ws_deflate_client.py"
        let result = try runProgram("/usr/bin/env", ["python3", script, String(wsPort), String(limit)],
                                    workDirectory: kernel.root, timeout: 60)
        XCTAssertEqual(result.status, 0, result.stdout + result.stderr)
        let seen = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any],
                                 result.stdout + result.stderr)
        XCTAssertTrue((seen["extensions"] as? String)?.hasPrefix("permessage-deflate") == true, "\(seen)")
        XCTAssertEqual(seen["echo_ok"] as? Bool, true, "\(seen)")
        XCTAssertEqual(seen["greets_ok"] as? Int, 50, "\(seen)")
        XCTAssertEqual(seen["plain_extensions"] as? String, "", "\(seen)")
        XCTAssertEqual(seen["plain_ok"] as? Bool, true, "\(seen)")
        XCTAssertEqual(seen["bomb_close"] as? Int, 1009, "\(seen)")
        assertHelloAnswers(kernel)
    }

    /// RSV1 without an agreed extension is still a protocol error.
    func testACompressedFrameWithoutTheExtensionIsAProtocolError() throws {
        let (_, wsPort, _) = try startKernelWithAllTransports()
        let ws = try WSTestClient(port: wsPort) // offers no extension
        defer { ws.close() }
        try ws.sendFrame(opcode: WSTestClient.text, Array(#"{"id":1,"endpoint":"hello"}"#.utf8), rsv: 0x4)
        XCTAssertEqual(try ws.readClose()?.closeCode, 1002)
    }

    /// A client may end each compressed message's deflate stream (BFINAL);
    /// every message is still understood.
    func testCompressedMessagesThatEndTheirDeflateStream() throws {
        let (kernel, wsPort, _) = try startKernelWithAllTransports()
        let script = Products.repositoryRoot + "/Tests/IntegrationTests/Scripts/ws_deflate_final_blocks.py"
        let result = try runProgram("/usr/bin/env", ["python3", script, String(wsPort)], workDirectory: kernel.root, timeout: 30)
        XCTAssertEqual(result.status, 0, result.stdout + result.stderr)
        let seen = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any],
                                 result.stdout + result.stderr)
        XCTAssertEqual(seen["results"] as? [String], ["result", "result", "result"], "\(seen)")
        XCTAssertEqual(seen["ids"] as? [Int], [1, 2, 3], "\(seen)")
    }
}
