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
