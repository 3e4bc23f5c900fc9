import Foundation
import Synchronization
import XCTest

/// The guard plugin (security headers, CORS, rate limits, validation) and
/// what the http transport adds on the way out (304, compression).
final class GuardMiddlewareTests: MiddlewareTestCase {
    func testSecurityHeadersByDefaultOnHTTP() throws {
        let stack = try startStack()
        let response = try HTTP.call(port: stack.http, "probe.public")
        XCTAssertEqual(response.header("x-content-type-options"), "nosniff")
        XCTAssertEqual(response.header("x-frame-options"), "DENY")
        XCTAssertEqual(response.header("referrer-policy"), "no-referrer")
        XCTAssertEqual(response.header("content-security-policy"), "default-src 'self'")
        XCTAssertNil(response.header("strict-transport-security"), "no TLS: no HSTS")
        XCTAssertNil(response.header("access-control-allow-origin"), "CORS is off until configured")

        let configured = try startStack(settings: ["guard.frame_options=SAMEORIGIN", "guard.content_security_policy=",
                                                   "guard.trust_forwarded=true"])
        let behindTLS = try HTTP.call(port: configured.http, "probe.public", headers: [("X-Forwarded-Proto", "https")])
        XCTAssertEqual(behindTLS.header("x-frame-options"), "SAMEORIGIN")
        XCTAssertNil(behindTLS.header("content-security-policy"))
        XCTAssertEqual(behindTLS.header("strict-transport-security"), "max-age=31536000; includeSubDomains")
    }

    func testCORSPreflightAndActualRequests() throws {
        let stack = try startStack(settings: ["guard.cors_origins=https://app.example.com, https://*.example.org",
                                              "guard.cors_credentials=true", "guard.cors_max_age=120"])
        let preflight = try HTTP.request(port: stack.http, "OPTIONS", "/api/probe.person", headers: [
            ("Origin", "https://app.example.com"), ("Access-Control-Request-Method", "POST"),
            ("Access-Control-Request-Headers", "content-type, authorization"),
        ])
        XCTAssertEqual(preflight.status, 204, preflight.summary)
        XCTAssertEqual(preflight.header("access-control-allow-origin"), "https://app.example.com")
        XCTAssertEqual(preflight.header("access-control-allow-credentials"), "true")
        XCTAssertEqual(preflight.header("access-control-max-age"), "120")
        XCTAssertTrue(preflight.header("access-control-allow-methods")?.contains("POST") ?? false, preflight.summary)
        XCTAssertEqual(preflight.header("access-control-allow-headers"), "content-type, authorization")
        // Answered without the handler: the validation of probe.person's body never ran.
        XCTAssertTrue(preflight.body.isEmpty)

        // A route, a wildcard subdomain.
        let route = try HTTP.request(port: stack.http, "OPTIONS", "/articles/1", headers: [
            ("Origin", "https://eu.example.org"), ("Access-Control-Request-Method", "GET"),
        ])
        XCTAssertEqual(route.status, 204, route.summary)
        XCTAssertEqual(route.header("access-control-allow-origin"), "https://eu.example.org")

        // Disallowed origin, or the bare domain of a wildcard: no CORS headers.
        for origin in ["https://evil.example.com", "https://example.org"] {
            let denied = try HTTP.request(port: stack.http, "OPTIONS", "/api/probe.person", headers: [
                ("Origin", origin), ("Access-Control-Request-Method", "POST"),
            ])
            XCTAssertNil(denied.header("access-control-allow-origin"), "\(origin): \(denied.summary)")
        }
        // A header not allowed.
        let badHeader = try HTTP.request(port: stack.http, "OPTIONS", "/api/probe.person", headers: [
            ("Origin", "https://app.example.com"), ("Access-Control-Request-Method", "POST"),
            ("Access-Control-Request-Headers", "x-secret"),
        ])
        XCTAssertNil(badHeader.header("access-control-allow-origin"), badHeader.summary)

        let actual = try HTTP.call(port: stack.http, "probe.public", headers: [("Origin", "https://app.example.com")])
        XCTAssertEqual(actual.status, 200, actual.summary)
        XCTAssertEqual(actual.header("access-control-allow-origin"), "https://app.example.com")
        XCTAssertEqual(actual.header("access-control-expose-headers"), "x-request-id")
        XCTAssertEqual(actual.header("vary"), "origin")
        let other = try HTTP.call(port: stack.http, "probe.public", headers: [("Origin", "https://evil.example.com")])
        XCTAssertEqual(other.status, 200)
        XCTAssertNil(other.header("access-control-allow-origin"))
    }

    func testRateLimitHoldsUnderConcurrentClientsOnEveryProtocol() throws {
        let stack = try startStack(settings: ["guard.rate_limits=probe.public=10/m by ip; probe.whoami=1000/s by endpoint"])
        // 8 clients at once, 40 calls: exactly the burst of 10 gets through.
        let statuses = Mutex<[Int]>([])
        let port = stack.http
        DispatchQueue.concurrentPerform(iterations: 8) { _ in
            for _ in 0..<5 {
                let status = (try? HTTP.call(port: port, "probe.public").status) ?? -1
                statuses.withLock { $0.append(status) }
            }
        }
        let all = statuses.withLock { $0 }
        XCTAssertEqual(all.filter { $0 == 200 }.count, 10, "\(all)")
        XCTAssertEqual(all.filter { $0 == 429 }.count, 30, "\(all)")
        let limited = try HTTP.call(port: stack.http, "probe.public")
        XCTAssertEqual(limited.status, 429, limited.summary)
        let retry = try XCTUnwrap(limited.header("retry-after").flatMap(Int.init), limited.summary)
        XCTAssertTrue((1...6).contains(retry), "a token every 6 s: \(retry)")
        XCTAssertEqual(limited.header("ratelimit-limit"), "10")
        XCTAssertEqual(limited.header("ratelimit-remaining"), "0")
        XCTAssertEqual(limited.errorCode, "rate_limited")

        // Same ip over ws and tcp: the same bucket, the envelope's rate_limited with retry_after.
        for (name, client) in try envelopeClients(stack) {
            defer { client.close() }
            let answer = try client.call("probe.public")
            XCTAssertEqual(answer.envelopeErrorCode, "rate_limited", "\(name): \(answer)")
            XCTAssertNotNil((answer.envelopeErrorDetails?["retry_after"] as? String).flatMap(Int.init), "\(name): \(answer)")
            // Another endpoint, another limit.
            XCTAssertEqual(try client.call("probe.whoami", id: 2)["type"] as? String, "result")
        }
    }

    func testBehindAProxyTheAddressItSawCountsNotTheOnesTheClientWrote() throws {
        let stack = try startStack(settings: ["guard.rate_limits=probe.public=3/m by ip", "guard.trust_forwarded=true"])
        var statuses: [Int] = []
        for index in 0..<6 {
            // The client writes any address first; the proxy appends the one it saw.
            statuses.append(try HTTP.call(port: stack.http, "probe.public", headers: [("X-Forwarded-For", "10.9.\(index).1, 203.0.113.7")]).status)
        }
        XCTAssertEqual(statuses, [200, 200, 200, 429, 429, 429])
        XCTAssertEqual(try HTTP.call(port: stack.http, "probe.public", headers: [("X-Forwarded-For", "203.0.113.8")]).status, 200)
    }

    func testAFloodOfDistinctKeysStaysWithinTheBound() throws {
        let stack = try startStack(settings: ["guard.rate_limits=probe.public=5/m by header:x-api-key", "guard.rate_max_keys=256"])
        let connection = try HTTPConnection(port: stack.http)
        defer { connection.close() }
        for index in 0..<2_000 {
            let response = try connection.call("probe.public", headers: [("X-Api-Key", "flood-\(index)")])
            XCTAssertEqual(response.status, 200, "a fresh key has a full bucket: \(response.summary)")
        }
        let stats = try stack.kernel.adminResult("call", ["endpoint": "guard.stats", "body": "{}"])
        let body = try XCTUnwrap(stats["body"] as? String)
        let keys = try XCTUnwrap((try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Int])?["rate_keys"], body)
        XCTAssertLessThanOrEqual(keys, 256, body)
        XCTAssertGreaterThan(keys, 0, body)
        // A recent key is still limited: 5 more calls spend its bucket.
        var last = 0
        for _ in 0..<5 { last = try connection.call("probe.public", headers: [("X-Api-Key", "flood-1999")]).status }
        XCTAssertEqual(last, 429)
    }

    func testValidationRefusesWithFieldPathsBeforeTheHandler() throws {
        let stack = try startStack()
        let response = try HTTP.call(port: stack.http, "probe.person", #"{"name":7,"tags":["a",3]}"#)
        XCTAssertEqual(response.status, 422, response.summary)
        let error = try XCTUnwrap(response.json?["error"] as? [String: Any])
        XCTAssertEqual(error["code"] as? String, "validation")
        let fields = try XCTUnwrap((error["details"] as? [String: Any])?["fields"] as? [[String: String]], response.summary)
        let byField = Dictionary(fields.map { ($0["field"] ?? "", $0["message"] ?? "") }, uniquingKeysWith: { a, _ in a })
        XCTAssertEqual(byField["/name"], "expected string, found number", "\(fields)")
        XCTAssertNotNil(byField["/age"], "\(fields)")
        XCTAssertNotNil(byField["/tags/1"], "\(fields)")
        XCTAssertEqual(try HTTP.call(port: stack.http, "probe.person", #"{"name":"ada","age":36}"#).status, 200)

        for (name, client) in try envelopeClients(stack) {
            defer { client.close() }
            let answer = try client.call("probe.person", ["name": "ada", "age": "old"])
            XCTAssertEqual(answer.envelopeErrorCode, "validation", "\(name): \(answer)")
            let fields = answer.envelopeErrorDetails?["fields"] as? [[String: String]]
            XCTAssertEqual(fields?.first?["field"], "/age", "\(name): \(answer)")
        }

        // The schemas are listed for API documents.
        let endpoints = try stack.kernel.adminResult("endpoints")
        let person = (endpoints["endpoints"] as? [[String: Any]])?.first { $0["name"] as? String == "probe.person" }
        let schema = try XCTUnwrap(person?["request_schema"] as? [String: Any], "\(String(describing: person))")
        XCTAssertEqual(Set(schema["required"] as? [String] ?? []), ["name", "age"])
        XCTAssertEqual(((schema["properties"] as? [String: Any])?["age"] as? [String: Any])?["type"] as? String, "integer")
    }

    func testConditionalGETGives304AndLargeAnswersAreCompressed() throws {
        let stack = try startStack()
        let first = try HTTP.request(port: stack.http, "GET", "/articles/9")
        XCTAssertEqual(first.status, 200, first.summary)
        let etag = try XCTUnwrap(first.header("etag"))
        XCTAssertEqual(etag, "\"v7-9\"")
        XCTAssertEqual(first.header("cache-control"), "public, max-age=60")
        let lastModified = try XCTUnwrap(first.header("last-modified"))
        XCTAssertEqual(lastModified, "Tue, 14 Nov 2023 22:13:20 GMT")

        let revalidated = try HTTP.request(port: stack.http, "GET", "/articles/9", headers: [("If-None-Match", "\"v0\", W/\"v7-9\"")])
        XCTAssertEqual(revalidated.status, 304, revalidated.summary)
        XCTAssertTrue(revalidated.body.isEmpty)
        XCTAssertEqual(revalidated.header("etag"), etag)
        let changed = try HTTP.request(port: stack.http, "GET", "/articles/9", headers: [("If-None-Match", "\"v6-9\"")])
        XCTAssertEqual(changed.status, 200)
        let since = try HTTP.request(port: stack.http, "GET", "/articles/9", headers: [("If-Modified-Since", lastModified)])
        XCTAssertEqual(since.status, 304, since.summary)
        let older = try HTTP.request(port: stack.http, "GET", "/articles/9", headers: [("If-Modified-Since", "Mon, 13 Nov 2023 00:00:00 GMT")])
        XCTAssertEqual(older.status, 200)

        let plain = try HTTP.call(port: stack.http, "probe.big")
        let gzipped = try HTTP.call(port: stack.http, "probe.big", headers: [("Accept-Encoding", "gzip, deflate;q=0.5")])
        XCTAssertNil(plain.header("content-encoding"))
        XCTAssertEqual(gzipped.header("content-encoding"), "gzip")
        XCTAssertEqual(gzipped.header("vary"), "accept-encoding")
        XCTAssertLessThan(gzipped.body.count, plain.body.count / 4)
        XCTAssertEqual(try gunzip(gzipped.body), plain.body)
        let deflated = try HTTP.call(port: stack.http, "probe.big", headers: [("Accept-Encoding", "deflate")])
        XCTAssertEqual(deflated.header("content-encoding"), "deflate")
        let small = try HTTP.call(port: stack.http, "probe.public", headers: [("Accept-Encoding", "gzip")])
        XCTAssertNil(small.header("content-encoding"), "below compress_min_size")
    }

    /// Decompressed by the system's gzip, not by the code under test.
    private func gunzip(_ bytes: [UInt8]) throws -> [UInt8] {
        let path = NSTemporaryDirectory() + "gz-\(UUID().uuidString).gz"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let result = try runProgram("/bin/gzip", ["-dc", path], workDirectory: NSTemporaryDirectory(), timeout: 10)
        return Array(result.stdout.utf8)
    }
}
