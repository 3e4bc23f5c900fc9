import Foundation
import XCTest

/// The core HTTP plugin in front of the Swift sample plugin, over real sockets.
final class HTTPTransportTests: IntegrationTestCase {
    func testHelloEndpointOverPost() throws {
        let kernel = try startKernel()
        let response = try HTTP.call(port: kernel.httpPort, "hello")
        XCTAssertEqual(response.status, 200, response.summary)
        XCTAssertEqual(response.json?["message"] as? String, "hello", response.summary)
        XCTAssertTrue(response.header("content-type")?.contains("application/json") == true,
                      "content-type: \(response.header("content-type") ?? "none")")
    }

    func testRouteWithPathParameter() throws {
        let kernel = try startKernel()
        let response = try HTTP.request(port: kernel.httpPort, "GET", "/hello/users/42")
        XCTAssertEqual(response.status, 200, response.summary)
        XCTAssertEqual(response.json?["id"] as? String, "42", response.summary)

        let other = try HTTP.request(port: kernel.httpPort, "GET", "/hello/users/abc-7")
        XCTAssertEqual(other.json?["id"] as? String, "abc-7", other.summary)
    }

    func testHealthz() throws {
        let kernel = try startKernel()
        let response = try HTTP.request(port: kernel.httpPort, "GET", "/healthz")
        XCTAssertEqual(response.status, 200, response.summary)
        XCTAssertTrue(response.text.contains("ok"), response.summary)
    }

    func testUnknownEndpointIsJSONNotFound() throws {
        let kernel = try startKernel()
        let response = try HTTP.call(port: kernel.httpPort, "no.such.endpoint")
        XCTAssertEqual(response.status, 404, response.summary)
        XCTAssertEqual(response.errorCode, "not_found", response.summary)
        let error = response.json?["error"] as? [String: Any]
        XCTAssertNotNil(error?["message"] as? String, response.summary)
    }

    func testTypedErrorsMapToHTTPStatuses() throws {
        let kernel = try startKernel()
        let expected: [(String, Int)] = [
            ("invalid_argument", 400), ("not_found", 404), ("validation", 422), ("conflict", 409),
            ("unauthorized", 401), ("forbidden", 403), ("rate_limited", 429), ("too_large", 413),
            ("timeout", 504), ("unavailable", 503), ("internal", 500), ("method_not_allowed", 405),
        ]
        let connection = try HTTPConnection(port: kernel.httpPort)
        defer { connection.close() }
        for (code, status) in expected {
            let response = try connection.call("hello.fail", "{\"code\":\"\(code)\"}")
            XCTAssertEqual(response.status, status, "\(code): \(response.summary)")
            XCTAssertEqual(response.errorCode, code, "\(code): \(response.summary)")
            let message = (response.json?["error"] as? [String: Any])?["message"] as? String
            XCTAssertTrue(message?.contains(code) == true, "\(code): message \(message ?? "none")")
        }
    }

    func testValidationErrorCarriesFieldDetails() throws {
        let kernel = try startKernel()
        let ok = try HTTP.call(port: kernel.httpPort, "greet", #"{"name":"ada"}"#)
        XCTAssertEqual(ok.status, 200, ok.summary)
        XCTAssertEqual(ok.json?["message"] as? String, "hello, ada", ok.summary)

        let response = try HTTP.call(port: kernel.httpPort, "greet", #"{"name":""}"#)
        XCTAssertEqual(response.status, 422, response.summary)
        XCTAssertEqual(response.errorCode, "validation", response.summary)
        let details = (response.json?["error"] as? [String: Any])?["details"] as? [String: Any]
        let fields = details?["fields"] as? [[String: Any]]
        XCTAssertEqual(fields?.first?["field"] as? String, "name", response.summary)
        XCTAssertNotNil(fields?.first?["message"] as? String, response.summary)
    }

    func testKeepAliveServesSeveralRequestsOnOneConnection() throws {
        let kernel = try startKernel()
        let connection = try HTTPConnection(port: kernel.httpPort)
        defer { connection.close() }
        for name in ["a", "b", "c"] {
            let response = try connection.call("greet", "{\"name\":\"\(name)\"}")
            XCTAssertEqual(response.status, 200, response.summary)
            XCTAssertEqual(response.json?["message"] as? String, "hello, \(name)", response.summary)
            XCTAssertNotEqual(response.header("connection")?.lowercased(), "close", "server closes a keep-alive connection")
        }
        XCTAssertFalse(connection.peerClosed)
    }

    func testPipelinedRequestsAreAnsweredInOrder() throws {
        let kernel = try startKernel()
        let connection = try HTTPConnection(port: kernel.httpPort)
        defer { connection.close() }
        var bytes: [UInt8] = []
        bytes += HTTPConnection.encode("POST", "/api/greet", headers: [("Content-Type", "application/json")], body: Array(#"{"name":"first"}"#.utf8))
        bytes += HTTPConnection.encode("GET", "/hello/users/second")
        bytes += HTTPConnection.encode("POST", "/api/greet", headers: [("Content-Type", "application/json")], body: Array(#"{"name":"third"}"#.utf8))
        try connection.send(bytes) // one write: three requests

        let first = try connection.readResponse()
        let second = try connection.readResponse()
        let third = try connection.readResponse()
        XCTAssertEqual(first.status, 200, first.summary)
        XCTAssertEqual(first.json?["message"] as? String, "hello, first", first.summary)
        XCTAssertEqual(second.status, 200, second.summary)
        XCTAssertEqual(second.json?["id"] as? String, "second", second.summary)
        XCTAssertEqual(third.status, 200, third.summary)
        XCTAssertEqual(third.json?["message"] as? String, "hello, third", third.summary)
    }

    func testChunkedRequestBody() throws {
        let kernel = try startKernel()
        let connection = try HTTPConnection(port: kernel.httpPort)
        defer { connection.close() }
        let chunks = [#"{"na"#, #"me":"chu"#, #"nked"}"#]
        var request = "POST /api/greet HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        for chunk in chunks { request += String(chunk.utf8.count, radix: 16) + "\r\n" + chunk + "\r\n" }
        request += "0\r\n\r\n"
        try connection.send(request)
        let response = try connection.readResponse()
        XCTAssertEqual(response.status, 200, response.summary)
        XCTAssertEqual(response.json?["message"] as? String, "hello, chunked", response.summary)
    }

    func testBodyLargerThanMaxBodySizeIs413() throws {
        let kernel = try startKernel(settings: ["http.max_body_size=1024"])
        let small = try HTTP.call(port: kernel.httpPort, "greet", #"{"name":"small"}"#)
        XCTAssertEqual(small.status, 200, small.summary)

        let name = String(repeating: "x", count: 2048)
        let response = try HTTP.call(port: kernel.httpPort, "greet", "{\"name\":\"\(name)\"}")
        XCTAssertEqual(response.status, 413, response.summary)
        XCTAssertEqual(response.errorCode, "too_large", response.summary)
        assertHelloAnswers(kernel)
    }

    func testOversizeHeaderIs431() throws {
        let kernel = try startKernel()
        let connection = try HTTPConnection(port: kernel.httpPort)
        defer { connection.close() }
        let big = String(repeating: "a", count: 32 * 1024)
        try connection.send(HTTPConnection.encode("POST", "/api/hello", headers: [("X-Big", big)], body: Array("{}".utf8)))
        let response = try connection.readResponse()
        XCTAssertEqual(response.status, 431, response.summary)
        assertHelloAnswers(kernel)
    }

    func testMalformedRequestLineIs400AndKernelKeepsServing() throws {
        let kernel = try startKernel()
        let connection = try HTTPConnection(port: kernel.httpPort)
        defer { connection.close() }
        try connection.send("THIS IS NOT HTTP\r\n\r\n")
        let response = try connection.readResponse()
        XCTAssertEqual(response.status, 400, response.summary)

        let again = try HTTPConnection(port: kernel.httpPort)
        defer { again.close() }
        let hello = try again.call("hello")
        XCTAssertEqual(hello.status, 200, hello.summary)
        XCTAssertEqual(hello.json?["message"] as? String, "hello", hello.summary)
    }

    func testMiddlewareAddsHeaderAndRejectsDeniedCalls() throws {
        let kernel = try startKernel()
        let response = try HTTP.call(port: kernel.httpPort, "hello")
        XCTAssertEqual(response.status, 200, response.summary)
        XCTAssertEqual(response.header("x-hello-middleware"), "1", "headers: \(response.headers)")

        let routed = try HTTP.request(port: kernel.httpPort, "GET", "/hello/users/7")
        XCTAssertEqual(routed.header("x-hello-middleware"), "1", "route call headers: \(routed.headers)")

        let denied = try HTTP.call(port: kernel.httpPort, "hello", headers: [("X-Deny", "yes")])
        XCTAssertEqual(denied.status, 401, denied.summary)
        XCTAssertEqual(denied.errorCode, "unauthorized", denied.summary)
    }

    /// The SDK writes JSON keys in a stable (sorted) order: equal answers are
    /// equal bytes, so caches and ETags computed on them hold.
    func testJSONAnswersHaveAStableKeyOrder() throws {
        let kernel = try startKernel()
        let first = try HTTP.call(port: kernel.httpPort, "hello.streams")
        let second = try HTTP.call(port: kernel.httpPort, "hello.streams")
        XCTAssertEqual(first.body, second.body)
        XCTAssertEqual(first.text, #"{"active":0,"cancelled":0,"completed":0,"failed":0,"sent":0,"started":0}"#)
    }
}
