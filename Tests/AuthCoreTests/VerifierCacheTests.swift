import Foundation
import XCTest

@testable import AuthCore

/// The cache of verified tokens: bounded, least recently used out first,
/// never past a token's exp, and safe under concurrent use.
final class VerifierCacheTests: XCTestCase {
    let secret = "cache-secret-cache-secret-cache-0"

    private func tokens(_ count: Int) throws -> [String] {
        try (0..<count).map { try PyJWT.sign("HS256", secret: secret, claims: PyJWT.claims(["sub": "user\($0)"])) }
    }

    func testCacheIsBoundedAndEvictsLeastRecentlyUsed() async throws {
        _ = try KeyFiles.shared()
        var config = JWTVerifier.Configuration(keys: [.hs256(secret: secret)])
        config.cacheCapacity = 3
        let verifier = try await JWTVerifier(config)
        let t = try tokens(5)
        for token in t[0..<3] { _ = try await verifier.verify(token) }
        XCTAssertEqual(verifier.cachedCount, 3)
        _ = try await verifier.verify(t[0])  // t0 is now the most recently used
        _ = try await verifier.verify(t[3])  // evicts t1
        _ = try await verifier.verify(t[4])  // evicts t2
        XCTAssertEqual(verifier.cachedCount, 3)
        XCTAssertEqual(t.map(verifier.isCached), [true, false, false, true, true])
        let identity = try await verifier.verify(t[0])
        XCTAssertEqual(identity.subject, "user0")
    }

    func testCachedTokenStillExpires() async throws {
        _ = try KeyFiles.shared()
        let clock = ManualClock()
        var config = JWTVerifier.Configuration(keys: [.hs256(secret: secret)])
        config.now = { clock.now }
        let verifier = try await JWTVerifier(config)
        let token = try PyJWT.sign("HS256", secret: secret, claims: PyJWT.claims(["exp": Int(clock.now) + 120]))
        _ = try await verifier.verify(token)
        XCTAssertTrue(verifier.isCached(token))
        clock.advance(by: 120 + 59)  // within the 60 s leeway
        _ = try await verifier.verify(token)
        clock.advance(by: 1)
        await assertFails(.tokenExpired) { () async throws(AuthFailure) in try await verifier.verify(token) }
        XCTAssertFalse(verifier.isCached(token), "an expired entry makes room")
    }

    func testCachedIdentityAnswersWithoutSuspending() async throws {
        _ = try KeyFiles.shared()
        let clock = ManualClock()
        var config = JWTVerifier.Configuration(keys: [.hs256(secret: secret)])
        config.now = { clock.now }
        let verifier = try await JWTVerifier(config)
        let token = try PyJWT.sign("HS256", secret: secret, claims: PyJWT.claims(["exp": Int(clock.now) + 120, "roles": ["ops"]]))
        XCTAssertNil(verifier.cachedIdentity(for: token), "never verified")
        let verified = try await verifier.verify(token)
        XCTAssertEqual(verifier.cachedIdentity(for: token), verified)
        XCTAssertEqual(verifier.cachedIdentity(for: token)?.roles, ["ops"])
        clock.advance(by: 180)
        XCTAssertNil(verifier.cachedIdentity(for: token), "expired, so verify(_:) must say why")
        await assertFails(.tokenExpired) { () async throws(AuthFailure) in try await verifier.verify(token) }
    }

    func testTokensWithoutExpiryAreNotCached() async throws {
        _ = try KeyFiles.shared()
        var config = JWTVerifier.Configuration(keys: [.hs256(secret: secret)])
        config.requireExpiry = false
        let verifier = try await JWTVerifier(config)
        var claims = PyJWT.claims()
        claims["exp"] = nil
        let token = try PyJWT.sign("HS256", secret: secret, claims: claims)
        _ = try await verifier.verify(token)
        XCTAssertEqual(verifier.cachedCount, 0)
    }

    func testCacheCanBeTurnedOff() async throws {
        _ = try KeyFiles.shared()
        var config = JWTVerifier.Configuration(keys: [.hs256(secret: secret)])
        config.cacheCapacity = 0
        let verifier = try await JWTVerifier(config)
        let token = try tokens(1)[0]
        _ = try await verifier.verify(token)
        _ = try await verifier.verify(token)
        XCTAssertEqual(verifier.cachedCount, 0)
    }

    func testConcurrentVerificationsAgree() async throws {
        _ = try KeyFiles.shared()
        var config = JWTVerifier.Configuration(keys: [.hs256(secret: secret)])
        config.cacheCapacity = 4
        let verifier = try await JWTVerifier(config)
        let t = try tokens(8)
        let subjects = try await withThrowingTaskGroup(of: (Int, String).self) { group in
            for round in 0..<400 {
                let index = round % t.count
                group.addTask { (index, try await verifier.verify(t[index]).subject) }
            }
            return try await group.reduce(into: [(Int, String)]()) { $0.append($1) }
        }
        XCTAssertEqual(subjects.count, 400)
        for (index, subject) in subjects { XCTAssertEqual(subject, "user\(index)") }
        XCTAssertLessThanOrEqual(verifier.cachedCount, 4)
    }

    func testLRUCacheOrderAndRemoval() {
        var cache = LRUCache<String, Int>(capacity: 3)
        cache.insert(1, for: "a")
        cache.insert(2, for: "b")
        cache.insert(3, for: "c")
        XCTAssertEqual(cache.value(for: "a"), 1)  // order now b, c, a
        cache.insert(4, for: "d")  // evicts b
        XCTAssertFalse(cache.contains("b"))
        cache.removeValue(for: "c")
        XCTAssertEqual(cache.count, 2)
        cache.insert(5, for: "e")
        cache.insert(6, for: "f")  // evicts a, the oldest left
        XCTAssertEqual(["a", "b", "c", "d", "e", "f"].map(cache.contains), [false, false, false, true, true, true])
        cache.insert(7, for: "d")  // update, now newest
        cache.insert(8, for: "g")  // evicts e
        XCTAssertEqual(cache.value(for: "d"), 7)
        XCTAssertFalse(cache.contains("e"))
        for key in ["d", "f", "g"] { cache.removeValue(for: key) }
        XCTAssertEqual(cache.count, 0)
        cache.insert(9, for: "h")
        XCTAssertEqual(cache.value(for: "h"), 9)
    }

    func testLRUCacheStaysBoundedUnderChurn() {
        var cache = LRUCache<Int, Int>(capacity: 100)
        for key in 0..<10_000 {
            cache.insert(key, for: key)
            if key % 7 == 0 { cache.removeValue(for: key - 3) }
            if key % 5 == 0 { _ = cache.value(for: key - 50) }
            XCTAssertLessThanOrEqual(cache.count, 100)
        }
        XCTAssertTrue(cache.contains(9_999))
        XCTAssertFalse(cache.contains(0))
    }
}
