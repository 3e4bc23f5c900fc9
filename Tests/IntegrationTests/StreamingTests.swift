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
            let (items, last) = try client.stream("hello.ticker", ["count": count, "interval_ms": 0], id: "t")
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
            try client.send(["id": 1, "type": "stream", "endpoint": "hello.ticker", "payload": ["count": 100_000, "interval_ms": 20]])
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
        var expectedCancels = 0
        for (name, client) in try clients(wsPort, tcpPort) {
            try client.send(["id": 1, "type": "stream", "endpoint": "hello.ticker", "payload": ["count": 100_000, "interval_ms": 20]])
            XCTAssertEqual(try client.readMessage()["type"] as? String, "item", name)
            try client.send(["id": 2, "type": "stream", "endpoint": "hello.chat", "payload": [:]])
            waitForStreamCounts(kernel) { $0["active"] as? Int == 2 }
            client.close()
            expectedCancels += 2
            waitForStreamCounts(kernel) { $0["cancelled"] as? Int == expectedCancels && $0["active"] as? Int == 0 }
        }
    }

    func testSlowReaderGetsEveryItemThroughTheBoundedQueue() throws {
        // A queue of 2: the handler is refused (KN_ERR_UNAVAILABLE) many times and must retry, never drop.
        let (kernel, wsPort, tcpPort) = try startKernelWithAllTransports(settings: ["ws.stream_queue=2", "tcp.stream_queue=2"])
        for (name, client) in try clients(wsPort, tcpPort) {
            defer { client.close() }
            let count = 3_000
            try client.send(["id": 1, "type": "stream", "endpoint": "hello.ticker", "payload": ["count": count, "interval_ms": 0]])
            // Not reading: the handler must be held back, not finish into an unbounded buffer.
            Thread.sleep(forTimeInterval: 0.3) // only lets the handler run ahead; nothing is asserted on timing
            var items: [Int] = []
            var last = try client.readMessage()
            while last["type"] as? String == "item" {
                items.append((last["payload"] as? [String: Any])?["n"] as? Int ?? -1)
                last = try client.readMessage()
            }
            XCTAssertEqual(last["type"] as? String, "end", "\(name): \(last)")
            XCTAssertEqual(items, Array(1...count), "\(name): items lost or reordered under backpressure")
        }
        waitForStreamCounts(kernel) { $0["completed"] as? Int == 2 }
    }
}
