import Foundation
import XCTest

@testable import AuthCore

/// exp, nbf, iss and aud, with and without leeway.
final class JWTClaimTests: XCTestCase {
    let secret = "claims-secret-claims-secret-0123"
    var now: Int { Int(Date().timeIntervalSince1970) }

    private func verifier(_ configure: (inout JWTVerifier.Configuration) -> Void = { _ in }) async throws -> JWTVerifier {
        _ = try KeyFiles.shared()
        var config = JWTVerifier.Configuration(keys: [.hs256(secret: secret)])
        configure(&config)
        return try await JWTVerifier(config)
    }

    private func token(_ claims: [String: Any]) throws -> String {
        try PyJWT.sign("HS256", secret: secret, claims: PyJWT.claims(claims))
    }

    func testExpiredTokenIsRefused() async throws {
        let verifier = try await verifier()
        let token = try token(["exp": now - 3600])
        await assertFails(.tokenExpired) { () async throws(AuthFailure) in try await verifier.verify(token) }
    }

    func testNotBeforeInTheFutureIsRefused() async throws {
        let verifier = try await verifier()
        let token = try token(["nbf": now + 3600])
        await assertFails(.tokenNotYetValid) { () async throws(AuthFailure) in try await verifier.verify(token) }
    }

    func testLeewayAcceptsSmallSkewOnBothSides() async throws {
        let verifier = try await verifier()  // default leeway: 60 s
        _ = try await verifier.verify(try token(["exp": now - 20]))
        _ = try await verifier.verify(try token(["nbf": now + 20]))
    }

    func testLeewayIsConfigurable() async throws {
        let strict = try await verifier { $0.leeway = 0 }
        let token = try token(["exp": now - 20])
        await assertFails(.tokenExpired) { () async throws(AuthFailure) in try await strict.verify(token) }
        let lenient = try await verifier { $0.leeway = 300 }
        _ = try await lenient.verify(try self.token(["exp": now - 200, "nbf": now + 200]))
    }

    func testExpiryIsRequiredByDefault() async throws {
        var claims = PyJWT.claims()
        claims["exp"] = nil
        let token = try PyJWT.sign("HS256", secret: secret, claims: claims)
        let verifier = try await verifier()
        await assertFails(.missingExpiry) { () async throws(AuthFailure) in try await verifier.verify(token) }
        let relaxed = try await self.verifier { $0.requireExpiry = false }
        let identity = try await relaxed.verify(token)
        XCTAssertEqual(identity.subject, "alice")
    }

    func testNonNumericExpiryIsMalformed() async throws {
        let verifier = try await verifier()
        let token = try token(["exp": "tomorrow"])
        await assertFails(.malformedToken) { () async throws(AuthFailure) in try await verifier.verify(token) }
    }

    func testIssuer() async throws {
        let verifier = try await verifier { $0.issuer = "https://id.example.com/" }
        _ = try await verifier.verify(try token(["iss": "https://id.example.com/"]))
        let listed = try PyJWT.rawHS256(secret: secret, claims: PyJWT.claims(["iss": ["https://id.example.com/"]]))
        for token in [try token(["iss": "https://evil.example.com/"]), try token([:]), listed] {
            await assertFails(.wrongIssuer) { () async throws(AuthFailure) in try await verifier.verify(token) }
        }
    }

    func testAudienceAsStringOrArray() async throws {
        let verifier = try await verifier { $0.audience = "kernel" }
        _ = try await verifier.verify(try token(["aud": "kernel"]))
        _ = try await verifier.verify(try token(["aud": ["billing", "kernel"]]))
        for claims: [String: Any] in [["aud": "billing"], ["aud": ["billing", "crm"]], [:]] {
            let token = try token(claims)
            await assertFails(.wrongAudience) { () async throws(AuthFailure) in try await verifier.verify(token) }
        }
    }

    func testUnconfiguredIssuerAndAudienceAreNotChecked() async throws {
        let verifier = try await verifier()
        _ = try await verifier.verify(try token(["iss": "anyone", "aud": "anything"]))
    }

    /// The signature is checked before any claim, so an unsigned claim never earns a specific reason.
    func testSignatureIsCheckedBeforeClaims() async throws {
        let verifier = try await verifier { $0.audience = "kernel" }
        let token = try PyJWT.sign("HS256", secret: "another-secret-another-secret-01", claims: PyJWT.claims(["exp": now - 3600]))
        await assertFails(.badSignature) { () async throws(AuthFailure) in try await verifier.verify(token) }
    }
}
