import Foundation
import XCTest

/// Streaming endpoints of the sample over ws and tcp: complete and in order,
/// both ways, cancelled by the client or by its disconnection, and bounded
/// when the client reads slowly.
final class StreamingTests: IntegrationTestCase {
    private func clients(_ ws: Int, _ tcp: Int) throws -> [(String, EnvelopeTestClient)] {
        [("ws", try WSTestClient(port: ws)), ("tcp", try TCPTestClient(port: tcp))]
    }

    func testServerStreamArrivesCompleteAndInOrder() throws {
        let (_, wsPort, tcpPort) = try startKernelWithAllTransports()
        for (name, client) in try clients(wsPort, tcpPort) {
            defer { client.close() }
            let count = 500
            let (items, last) = try client.stream("hello.ticker", ["count": count, "intervalMs": 0], id: "t")
            XCTAssertEqual(items.count, count, name)
            XCTAssertEqual(items.map { $0["n"] as? Int ?? -1 }, Array(1...count), "\(name): out of order or missing")
            XCTAssertEqual(last["type"] as? String, "end", "\(name): \(last)")
            XCTAssertEqual(last["id"] as? String, "t", "\(name): \(last)")
        }
    }

    func testBidirectionalStreamBothWays() throws {
        let (_, wsPort, tcpPort) = try startKernelWithAllTransports()
        for (name, client) in try clients(wsPort, tcpPort) {
            defer { client.close() }
            try client.send(["id": 9, "type": "stream", "endpoint": "hello.chat", "payload": ["name": "ada"]])
            for n in 1...20 {
                try client.send(["id": 9, "type": "item", "payload": ["text": "line \(n)"]])
                let reply = try client.readMessage()
                XCTAssertEqual(reply["type"] as? String, "item", "\(name): \(reply)")
                let payload = reply["payload"] as? [String: Any]
                XCTAssertEqual(payload?["n"] as? Int, n, name)
                XCTAssertEqual(payload?["text"] as? String, "ada: line \(n)", name)
            }
            try client.send(["id": 9, "type": "end"])
            let end = try client.readMessage()
            XCTAssertEqual(end["type"] as? String, "end", "\(name): \(end)")
        }
    }

    func testClientCancelStopsTheHandler() throws {
        let (kernel, wsPort, tcpPort) = try startKernelWithAllTransports()
        var expectedCancels = 0
        for (name, client) in try clients(wsPort, tcpPort) {
            defer { client.close() }
            try client.send(["id": 1, "type": "stream", "endpoint": "hello.ticker", "payload": ["count": 100_000, "intervalMs": 20]])
            XCTAssertEqual(try client.readMessage()["type"] as? String, "item", name)
            try client.send(["id": 1, "type": "cancel"])
            var last = try client.readMessage()
            while last["type"] as? String == "item" { last = try client.readMessage() }
            XCTAssertEqual(last.envelopeErrorCode, "cancelled", "\(name): \(last)")
            expectedCancels += 1
            let counts = waitForStreamCounts(kernel) { $0["cancelled"] as? Int == expectedCancels && $0["active"] as? Int == 0 }
            XCTAssertEqual(counts["completed"] as? Int, 0, "\(name): \(counts)")
            // The connection goes on.
            XCTAssertEqual(try client.call("hello", id: 2)["type"] as? String, "result", name)
        }
    }

    func testDisconnectCancelsTheStreamAndTheHandlerLearnsOfIt() throws {
        let (kernel, wsPort, tcpPort) = try startKernelWithAllTransports()
        var expectedCancels = 0, expectedCompletions = 0
        for (name, client) in try clients(wsPort, tcpPort) {
            try client.send(["id": 1, "type": "stream", "endpoint": "hello.ticker", "payload": ["count": 100_000, "intervalMs": 20]])
            XCTAssertEqual(try client.readMessage()["type"] as? String, "item", name)
            try client.send(["id": 2, "type": "stream", "endpoint": "hello.chat", "payload": [:]])
            waitForStreamCounts(kernel) { $0["active"] as? Int == 2 }
            client.close()
            // On tcp a close is first a FIN, which ends the client's items (tcp-framing.md §2): the chat
            // completes, and the ticker is cancelled when the connection breaks. On ws both are cancelled.
            if name == "tcp" {
                expectedCancels += 1
                expectedCompletions += 1
            } else {
                expectedCancels += 2
            }
            waitForStreamCounts(kernel) {
                $0["cancelled"] as? Int == expectedCancels && $0["completed"] as? Int == expectedCompletions && $0["active"] as? Int == 0
            }
        }
    }

    func testAStoppedReaderHoldsTheHandlerAtTheBoundThenGetsEveryItem() throws {
        // A queue of 2 and small fixed socket buffers on both sides: once they
        // are full, the handler's sends must wait.
        let buffer = 16_384
        let (kernel, wsPort, tcpPort) = try startKernelWithAllTransports(settings: [
            "ws.stream_queue=2", "tcp.stream_queue=2", "http.stream_queue=2",
            "ws.send_buffer=\(buffer)", "tcp.send_buffer=\(buffer)", "http.send_buffer=\(buffer)",
        ])
        // Linux doubles a fixed buffer size for its bookkeeping: the most in flight.
        let bound = 2 * buffer + 2 * buffer
        let padding = 4_000
        // Far more than the buffers hold, so a handler that was not held would send them all.
        let count = 200
        var sentBefore = 0
        for name in ["ws", "tcp", "http"] {
            let reader: StreamReader = switch name {
            case "ws": try EnvelopeStreamReader(try WSTestClient(port: wsPort, receiveBuffer: buffer))
            case "tcp": try EnvelopeStreamReader(try TCPTestClient(port: tcpPort, receiveBuffer: buffer))
            default: try HTTPStreamReader(try HTTPConnection(port: kernel.httpPort, receiveBuffer: buffer))
            }
            defer { reader.close() }
            try reader.start("hello.ticker", ["count": count, "intervalMs": 0, "padding": padding])

            // Not reading: the handler advances until the buffers and the queue are full, then stops.
            let held = waitForSentToSettle(kernel)
            let sent = held - sentBefore
            XCTAssertLessThan(sent, count, "\(name): the handler was never held back")
            // What the buffers hold, the queue of 2, and one item in the handler's hands.
            XCTAssertLessThanOrEqual(sent, bound / padding + 2 + 2,
                                     "\(name): \(sent) items of \(padding) bytes went out past the socket buffers and a queue of 2")

            // Reading again: everything arrives, in order.
            let numbers = try reader.readAll()
            XCTAssertEqual(numbers, Array(1...count), "\(name): items lost or reordered under backpressure")
            sentBefore += count
        }
        waitForStreamCounts(kernel) { $0["completed"] as? Int == 3 }
    }

    /// Polls `hello.streams` until `sent` stops moving; returns it.
    private func waitForSentToSettle(_ kernel: KernelProcess) -> Int {
        var last = -1
        var stableSince = Date()
        let settled = waitUntil(timeout: 20, interval: 0.1) {
            let sent = (try? HTTP.call(port: kernel.httpPort, "hello.streams"))?.json?["sent"] as? Int ?? -1
            if sent != last {
                last = sent
                stableSince = Date()
            }
            return Date().timeIntervalSince(stableSince) >= 0.5
        }
        XCTAssertTrue(settled, "the handler never stopped sending")
        return last
    }
}

/// A stream started on one connection and read when the test says.
protocol StreamReader {
    func start(_ endpoint: String, _ payload: [String: Any]) throws
    /// Every item's `n`, until the stream ends successfully.
    func readAll() throws -> [Int]
    func close()
}

struct EnvelopeStreamReader: StreamReader {
    let client: EnvelopeTestClient
    init(_ client: EnvelopeTestClient) throws { self.client = client }

    func start(_ endpoint: String, _ payload: [String: Any]) throws {
        try client.send(["id": 1, "type": "stream", "endpoint": endpoint, "payload": payload])
    }

    func readAll() throws -> [Int] {
        var numbers: [Int] = []
        var message = try client.readMessage()
        while message["type"] as? String == "item" {
            numbers.append((message["payload"] as? [String: Any])?["n"] as? Int ?? -1)
            message = try client.readMessage()
        }
        guard message["type"] as? String == "end" else { throw SetupError("the stream ended with \(message)") }
        return numbers
    }

    func close() { client.close() }
}

struct HTTPStreamReader: StreamReader {
    let connection: HTTPConnection
    init(_ connection: HTTPConnection) throws { self.connection = connection }

    func start(_ endpoint: String, _ payload: [String: Any]) throws {
        try connection.sendRequest("POST", "/api/\(endpoint)", headers: [("Content-Type", "application/json")],
                                   body: Array(try JSONSerialization.data(withJSONObject: payload)))
        let head = try connection.readStreamHead()
        guard head.status == 200 else { throw SetupError("the stream answered \(head.status)") }
    }

    func readAll() throws -> [Int] {
        var body: [UInt8] = []
        while let chunk = try connection.readChunk() { body += chunk }
        return body.split(separator: UInt8(ascii: "\n")).map { line in
            ((try? JSONSerialization.jsonObject(with: Data(line))) as? [String: Any])?["n"] as? Int ?? -1
        }
    }

    func close() { connection.close() }
}
