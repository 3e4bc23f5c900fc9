import Foundation
import XCTest

/// Raw streams over HTTP: a handler that sets response metadata `stream.raw`
/// before its first item gets its items written as they are (Server-Sent
/// Events with its own ids and event names), under its content type, with no
/// end or error message of the transport's.
final class HTTPRawStreamTests: IntegrationTestCase {
    private func startKernelWithFixture() throws -> KernelProcess {
        let kernel = try startKernel()
        try RawStreamFixture.install(into: kernel)
        XCTAssertTrue(waitUntil(timeout: 20) {
            let plugins = (try? kernel.adminResult("list")["plugins"] as? [[String: Any]]) ?? []
            return plugins.contains { $0["name"] as? String == "rawsse" }
        }, "the rawsse fixture did not load")
        return kernel
    }

    private func stream(_ connection: HTTPConnection, _ endpoint: String, accept: String?) throws -> HTTPResponse {
        var headers = [("Content-Type", "application/json")]
        if let accept { headers.append(("Accept", accept)) }
        try connection.sendRequest("POST", "/api/\(endpoint)", headers: headers, body: Array("{}".utf8))
        return try connection.readStreamHead()
    }

    private func body(_ connection: HTTPConnection) throws -> String {
        var text: [UInt8] = []
        while let chunk = try connection.readChunk() { text += chunk }
        return String(decoding: text, as: UTF8.self)
    }

    func testItemsGoOutAsTheHandlerFramedThem() throws {
        let kernel = try startKernelWithFixture()
        let connection = try HTTPConnection(port: kernel.httpPort)
        defer { connection.close() }
        let head = try stream(connection, "rawsse.events", accept: "text/event-stream")
        XCTAssertEqual(head.status, 200)
        XCTAssertEqual(head.header("content-type"), "text/event-stream")
        XCTAssertEqual(head.header("cache-control"), "no-cache")
        XCTAssertEqual(head.header("transfer-encoding")?.lowercased(), "chunked")
        XCTAssertEqual(try body(connection), RawStreamFixture.eventFive + RawStreamFixture.eventSix,
                       "no transport ids, no end event")

        // The connection is kept alive for the next request.
        XCTAssertEqual(try connection.call("hello").status, 200)
    }

    func testARawStreamIgnoresTheAcceptHeader() throws {
        let kernel = try startKernelWithFixture()
        let connection = try HTTPConnection(port: kernel.httpPort)
        defer { connection.close() }
        let head = try stream(connection, "rawsse.events", accept: nil)
        XCTAssertEqual(head.header("content-type"), "text/event-stream", "not NDJSON")
        XCTAssertEqual(try body(connection), RawStreamFixture.eventFive + RawStreamFixture.eventSix)
    }

    func testWithoutAContentTypeItIsOctetStream() throws {
        let kernel = try startKernelWithFixture()
        let connection = try HTTPConnection(port: kernel.httpPort)
        defer { connection.close() }
        let head = try stream(connection, "rawsse.octets", accept: "text/event-stream")
        XCTAssertEqual(head.header("content-type"), "application/octet-stream")
        XCTAssertEqual(try body(connection), "abcd")
    }

    func testAFailureAfterItemsEndsTheBodyWithNoFrameOfItsOwn() throws {
        let kernel = try startKernelWithFixture()
        let connection = try HTTPConnection(port: kernel.httpPort)
        defer { connection.close() }
        XCTAssertEqual(try stream(connection, "rawsse.fail_after", accept: "text/event-stream").status, 200)
        XCTAssertEqual(try body(connection), RawStreamFixture.eventFive, "no error event")
        XCTAssertEqual(try connection.call("hello").status, 200)
    }

    func testAFailureBeforeAnyItemIsAnErrorResponse() throws {
        let kernel = try startKernelWithFixture()
        let response = try HTTP.call(port: kernel.httpPort, "rawsse.fail_before", headers: [("Accept", "text/event-stream")])
        XCTAssertEqual(response.status, 403, response.summary)
        XCTAssertEqual(response.header("content-type"), "application/json")
        XCTAssertEqual(response.errorCode, "forbidden", response.summary)
    }

    func testARoutedGETSeesLastEventIDAndTheQuery() throws {
        let kernel = try startKernelWithFixture()
        let connection = try HTTPConnection(port: kernel.httpPort)
        defer { connection.close() }
        try connection.sendRequest("GET", "/rawsse/echo?topics=orders.*&since=5",
                                   headers: [("Accept", "text/event-stream"), ("Last-Event-ID", "41")])
        let head = try connection.readStreamHead()
        XCTAssertEqual(head.status, 200)
        XCTAssertEqual(try body(connection), "id: 7\nevent: echo\ndata: 41|topics=orders.*&since=5\n\n")
    }
}
