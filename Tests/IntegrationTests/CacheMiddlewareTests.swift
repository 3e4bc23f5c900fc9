import Foundation
import XCTest

/// The cache plugin: answers marked cacheable are served again without the
/// handler, within bounds, and forgotten when their plugin reloads.
final class CacheMiddlewareTests: MiddlewareTestCase {
    func handlerCalls(_ stack: Stack) throws -> Int {
        try XCTUnwrap(HTTP.call(port: stack.http, "probe.calls").json?["calls"] as? Int)
    }

    func testCacheableAnswersAreServedAgainWithoutTheHandler() throws {
        let stack = try startStack(extraPlugins: ["libcache.so"])
        let first = try HTTP.request(port: stack.http, "GET", "/articles/9")
        XCTAssertEqual(first.status, 200, first.summary)
        XCTAssertEqual(first.header("x-cache"), "miss")
        let second = try HTTP.request(port: stack.http, "GET", "/articles/9")
        XCTAssertEqual(second.status, 200, second.summary)
        XCTAssertEqual(second.header("x-cache"), "hit")
        XCTAssertEqual(second.body, first.body)
        XCTAssertEqual(second.header("etag"), first.header("etag"))
        XCTAssertEqual(second.header("content-type"), first.header("content-type"))
        XCTAssertNotNil(second.header("age").flatMap(Int.init))
        XCTAssertEqual(try handlerCalls(stack), 1)

        // A cached answer still revalidates to 304, and another path is another entry.
        let revalidated = try HTTP.request(port: stack.http, "GET", "/articles/9", headers: [("If-None-Match", first.header("etag") ?? "")])
        XCTAssertEqual(revalidated.status, 304, revalidated.summary)
        _ = try HTTP.request(port: stack.http, "GET", "/articles/10")
        XCTAssertEqual(try handlerCalls(stack), 2)

        // An idempotent endpoint called with POST is kept per body; the same over ws shares nothing with http's GET.
        let ws = try WSTestClient(port: stack.ws)
        defer { ws.close() }
        _ = try ws.call("probe.article", [String: Any](), id: 1)
        _ = try ws.call("probe.article", [String: Any](), id: 2)
        XCTAssertEqual(try handlerCalls(stack), 3)

        // Answers that do not say they may be kept are not.
        XCTAssertEqual(try HTTP.call(port: stack.http, "probe.public").header("x-cache"), nil, "not idempotent, not a GET route")
    }

    func testAnswersForOneCallerAreNotGivenToAnother() throws {
        let stack = try startStack(extraPlugins: ["libcache.so"], settings: ["guard.cors_origins=https://a.example.com, https://b.example.com"])
        // Credentials no authentication turned into a subject: neither served from nor kept in the cache.
        _ = try HTTP.request(port: stack.http, "GET", "/articles/5", headers: [("Authorization", "Bearer who-knows")])
        let withCredentials = try HTTP.request(port: stack.http, "GET", "/articles/5", headers: [("Authorization", "Bearer who-knows")])
        XCTAssertNil(withCredentials.header("x-cache"), withCredentials.summary)
        XCTAssertEqual(try handlerCalls(stack), 2)
        // An answer that varies by origin is not shared between origins; the request id is always the caller's own.
        let a = try HTTP.request(port: stack.http, "GET", "/articles/6", headers: [("Origin", "https://a.example.com"), ("X-Request-Id", "a-1")])
        let b = try HTTP.request(port: stack.http, "GET", "/articles/6", headers: [("Origin", "https://b.example.com"), ("X-Request-Id", "b-1")])
        XCTAssertEqual(a.header("access-control-allow-origin"), "https://a.example.com")
        XCTAssertEqual(b.header("access-control-allow-origin"), "https://b.example.com")
        XCTAssertEqual(b.header("x-request-id"), "b-1")
        XCTAssertEqual(try handlerCalls(stack), 4)
        // Without an Origin the answer is kept, and a hit carries this caller's request id.
        _ = try HTTP.request(port: stack.http, "GET", "/articles/7", headers: [("X-Request-Id", "c-1")])
        let hit = try HTTP.request(port: stack.http, "GET", "/articles/7", headers: [("X-Request-Id", "c-2")])
        XCTAssertEqual(hit.header("x-cache"), "hit")
        XCTAssertEqual(hit.header("x-request-id"), "c-2")
    }

    func testAReloadOfTheServingPluginEmptiesItsEntries() throws {
        let stack = try startStack(extraPlugins: ["libcache.so"])
        _ = try HTTP.request(port: stack.http, "GET", "/articles/1")
        XCTAssertEqual(try HTTP.request(port: stack.http, "GET", "/articles/1").header("x-cache"), "hit")
        try stack.kernel.copyIntoPlugins(try Products.path("libmwprobe.so"), as: "libmwprobe.so")
        // The new instance counts from zero; its first answer is a miss, served by it.
        XCTAssertTrue(waitUntil(timeout: 15) {
            (try? HTTP.request(port: stack.http, "GET", "/articles/1").header("x-cache")) == "miss"
        }, stack.kernel.log())
    }

    func testTheCacheStaysWithinItsBound() throws {
        let stack = try startStack(extraPlugins: ["libcache.so"], settings: ["cache.max_entries=5"])
        for id in 0..<40 { XCTAssertEqual(try HTTP.request(port: stack.http, "GET", "/articles/\(id)").status, 200) }
        let stats = try stack.kernel.adminResult("call", ["endpoint": "cache.stats", "body": "{}"])
        let body = try XCTUnwrap(stats["body"] as? String)
        let table = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Int])
        XCTAssertLessThanOrEqual(table["entries"] ?? 99, 5, body)
        XCTAssertGreaterThan(table["evictions"] ?? 0, 0, body)
        // The most recent one is still there.
        XCTAssertEqual(try HTTP.request(port: stack.http, "GET", "/articles/39").header("x-cache"), "hit")
    }
}
