import Foundation
import XCTest

/// Streaming endpoints over HTTP: Server-Sent Events when the client asks
/// for them, newline-delimited JSON otherwise; a disconnect cancels the
/// handler; a bidirectional endpoint's input ends at once.
final class HTTPStreamingTests: IntegrationTestCase {
    private func ticker(_ connection: HTTPConnection, count: Int, accept: String?) throws -> HTTPResponse {
        var headers = [("Content-Type", "application/json")]
        if let accept { headers.append(("Accept", accept)) }
        try connection.sendRequest("POST", "/api/hello.ticker", headers: headers,
                                   body: Array(#"{"count":\#(count),"intervalMs":0}"#.utf8))
        return try connection.readStreamHead()
    }

    private func body(_ connection: HTTPConnection) throws -> String {
        var text: [UInt8] = []
        while let chunk = try connection.readChunk() { text += chunk }
        return String(decoding: text, as: UTF8.self)
    }

    func testServerSentEventsCarryEveryItemWithItsIdThenTheEnd() throws {
        let kernel = try startKernel()
        let connection = try HTTPConnection(port: kernel.httpPort)
        defer { connection.close() }
        let head = try ticker(connection, count: 5, accept: "text/event-stream")
        XCTAssertEqual(head.status, 200)
        XCTAssertEqual(head.header("content-type"), "text/event-stream")
        XCTAssertEqual(head.header("transfer-encoding")?.lowercased(), "chunked")

        let events = try body(connection).components(separatedBy: "\n\n").filter { !$0.isEmpty }
        XCTAssertEqual(events.count, 6, "\(events)")
        for (index, event) in events.prefix(5).enumerated() {
            let lines = event.components(separatedBy: "\n")
            XCTAssertEqual(lines.first, "id: \(index + 1)", event)
            let data = lines.first { $0.hasPrefix("data: ") }.map { String($0.dropFirst(6)) } ?? ""
            let tick = try JSONSerialization.jsonObject(with: Data(data.utf8)) as? [String: Any]
            XCTAssertEqual(tick?["n"] as? Int, index + 1, event)
            XCTAssertEqual(tick?["of"] as? Int, 5, event)
        }
        XCTAssertEqual(events.last, "event: end\ndata: {}")

        // The connection is kept alive for the next request.
        let next = try connection.call("hello")
        XCTAssertEqual(next.status, 200, next.summary)
    }

    func testWithoutEventStreamItIsOneJSONObjectPerLine() throws {
        let kernel = try startKernel()
        let connection = try HTTPConnection(port: kernel.httpPort)
        defer { connection.close() }
        let head = try ticker(connection, count: 300, accept: nil)
        XCTAssertEqual(head.header("content-type"), "application/x-ndjson")
        let lines = try body(connection).split(separator: "\n").map(String.init)
        let numbers = lines.compactMap { line in
            (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["n"] as? Int
        }
        XCTAssertEqual(numbers, Array(1...300), "items lost, reordered or not one per line")
    }

    func testClientDisconnectCancelsTheHandler() throws {
        let kernel = try startKernel()
        let connection = try HTTPConnection(port: kernel.httpPort)
        try connection.sendRequest("POST", "/api/hello.ticker", headers: [("Accept", "text/event-stream")],
                                   body: Array(#"{"count":100000,"intervalMs":20}"#.utf8))
        XCTAssertEqual(try connection.readStreamHead().status, 200)
        XCTAssertNotNil(try connection.readChunk())
        waitForStreamCounts(kernel) { $0["active"] as? Int == 1 }
        connection.close()
        let counts = waitForStreamCounts(kernel) { $0["cancelled"] as? Int == 1 && $0["active"] as? Int == 0 }
        XCTAssertEqual(counts["completed"] as? Int, 0, "\(counts)")
    }

    func testABidirectionalEndpointHasNoClientItemsOverHTTP() throws {
        let kernel = try startKernel()
        // hello.chat echoes client items until they end: over HTTP they end at once.
        let response = try HTTP.call(port: kernel.httpPort, "hello.chat", #"{"name":"ada"}"#)
        XCTAssertEqual(response.status, 200, response.summary)
        XCTAssertEqual(response.text, "{}")
        waitForStreamCounts(kernel) { $0["completed"] as? Int == 1 && $0["active"] as? Int == 0 }
    }

    func testAStreamingEndpointRefusesACallerThatTakesNoItems() throws {
        let kernel = try startKernel(plugins: ["libhttp.so", "libhello.so", "libtcp.so"], settings: ["tcp.port=0"])
        // kernelctl call goes through the admin socket, whose calls take no items.
        let result = try runProgram(try Products.path("kernelctl"),
                                    ["--socket", kernel.socketPath, "call", "hello.ticker", #"{"count":2}"#],
                                    workDirectory: kernel.root)
        XCTAssertEqual(result.status, 1, result.stdout + result.stderr)
        XCTAssertTrue(result.stderr.contains("streams; its caller must take items"), result.stderr)
    }
}
