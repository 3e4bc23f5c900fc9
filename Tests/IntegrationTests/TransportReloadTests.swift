import Foundation
import XCTest

/// `kernelctl reload ws|tcp`: the port stays, and a call in flight on an
/// established connection finishes instead of being cut.
final class TransportReloadTests: IntegrationTestCase {
    func testReloadKeepsThePortAndFinishesTheStreamInFlight() throws {
        let (kernel, wsPort, tcpPort) = try startKernelWithAllTransports()
        let transports: [(String, Int, () throws -> EnvelopeTestClient)] = [
            ("ws", wsPort, { try WSTestClient(port: wsPort) }),
            ("tcp", tcpPort, { try TCPTestClient(port: tcpPort) }),
        ]
        for (name, port, connect) in transports {
            let client = try connect()
            defer { client.close() }
            try client.send(["id": 1, "type": "stream", "endpoint": "hello.ticker", "payload": ["count": 5, "intervalMs": 200]])
            XCTAssertEqual(try client.readMessage()["type"] as? String, "item", name)

            let reload = try kernelctl(kernel, ["reload", name])
            XCTAssertEqual(reload.status, 0, "\(name): \(reload.stderr)")

            var items = 1
            var last = try client.readMessage()
            while last["type"] as? String == "item" {
                items += 1
                last = try client.readMessage()
            }
            XCTAssertEqual(items, 5, "\(name): the stream was cut by the reload")
            XCTAssertEqual(last["type"] as? String, "end", "\(name): \(last)")
            XCTAssertEqual(try kernel.listenerPort(name), port, "\(name): the port changed")
            let fresh = try connect()
            defer { fresh.close() }
            XCTAssertEqual(try fresh.call("hello")["type"] as? String, "result", "\(name): new connections after the reload")
        }
    }
}

/// A stream that outlives the drain timeout does not hold a transport's
/// stop (or the kernel's control thread) up: it is cut, and the reload
/// completes.
final class TransportDrainTimeoutTests: IntegrationTestCase {
    func testAReloadCutsAStreamThatOutlivesTheDrainTimeout() throws {
        let (kernel, wsPort, tcpPort) = try startKernelWithAllTransports(
            settings: ["ws.drain_timeout_ms=300", "tcp.drain_timeout_ms=300", "http.drain_timeout_ms=300"])
        let readers: [(String, () throws -> StreamReader)] = [
            ("ws", { try EnvelopeStreamReader(try WSTestClient(port: wsPort)) }),
            ("tcp", { try EnvelopeStreamReader(try TCPTestClient(port: tcpPort)) }),
            ("http", { try HTTPStreamReader(try HTTPConnection(port: kernel.httpPort)) }),
        ]
        for (name, connect) in readers {
            let reader = try connect()
            defer { reader.close() }
            // Ten minutes of ticks: far past the drain timeout.
            try reader.start("hello.ticker", ["count": 30_000, "intervalMs": 20])
            waitForStreamCounts(kernel) { $0["active"] as? Int == 1 }

            let reload = try runProgram(try Products.path("kernelctl"), ["--socket", kernel.socketPath, "reload", name],
                                        workDirectory: kernel.root, timeout: 30)
            XCTAssertFalse(reload.timedOut, "\(name): the reload never finished")
            XCTAssertEqual(reload.status, 0, "\(name): \(reload.stderr)")
            // The stream's connection was cut, so its handler was cancelled.
            waitForStreamCounts(kernel) { $0["active"] as? Int == 0 }
            XCTAssertEqual(try HTTP.call(port: kernel.httpPort, "hello").status, 200, "\(name): the kernel stopped serving")
        }
    }
}
