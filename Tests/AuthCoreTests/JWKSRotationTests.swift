import Foundation
import XCTest

@testable import AuthCore

/// Keys from a JWKS file, re-read when the file changes.
final class JWKSRotationTests: XCTestCase {
    private func jwksVerifier(
        _ file: JWKSFile, recheck: Duration = .zero, _ configure: (inout JWTVerifier.Configuration) -> Void = { _ in }
    ) async throws -> JWTVerifier {
        var config = JWTVerifier.Configuration(jwksPath: file.path)
        config.jwksRecheckInterval = recheck
        configure(&config)
        return try await JWTVerifier(config)
    }

    func testRotationAddsAndRetiresKeyIDs() async throws {
        let keys = try KeyFiles.shared()
        let file = JWKSFile(path: keys.path("jwks.json"))
        let kid1 = try PyJWT.jwk("RS256", keyFile: keys.rsaPublic, kid: "kid1")
        let kid2 = try PyJWT.jwk("RS256", keyFile: keys.otherRSAPublic, kid: "kid2")
        try file.write([kid1])
        let verifier = try await jwksVerifier(file)

        let token1 = try PyJWT.sign("RS256", keyFile: keys.rsaPrivate, kid: "kid1")
        let token2 = try PyJWT.sign("RS256", keyFile: keys.otherRSAPrivate, kid: "kid2")
        _ = try await verifier.verify(token1)
        await assertFails(.unknownKeyID("kid2")) { () async throws(AuthFailure) in try await verifier.verify(token2) }

        try file.write([kid1, kid2])
        _ = try await verifier.verify(token2)
        _ = try await verifier.verify(token1)
        XCTAssertTrue(verifier.isCached(token1))

        // Retiring kid1 also drops its cached verification.
        try file.write([kid2])
        await assertFails(.unknownKeyID("kid1")) { () async throws(AuthFailure) in try await verifier.verify(token1) }
        _ = try await verifier.verify(token2)
    }

    func testEveryKeyTypeFromJWKS() async throws {
        let keys = try KeyFiles.shared()
        let file = JWKSFile(path: keys.path("jwks.json"))
        var ec = try PyJWT.jwk("ES256", keyFile: keys.ecPublic, kid: "ec")
        ec["alg"] = nil  // alg is optional: ES256 follows from crv P-256
        try file.write([
            try PyJWT.jwk("RS256", keyFile: keys.rsaPublic, kid: "rsa"), ec,
            try PyJWT.jwk("EdDSA", keyFile: keys.edPublic, kid: "ed"),
        ])
        let verifier = try await jwksVerifier(file)
        _ = try await verifier.verify(try PyJWT.sign("RS256", keyFile: keys.rsaPrivate, kid: "rsa"))
        _ = try await verifier.verify(try PyJWT.sign("ES256", keyFile: keys.ecPrivate, kid: "ec"))
        _ = try await verifier.verify(try PyJWT.sign("EdDSA", keyFile: keys.edPrivate, kid: "ed"))
        // A kid from the set with another key's algorithm is refused before any crypto.
        let confused = try PyJWT.sign("ES256", keyFile: keys.ecPrivate, kid: "rsa")
        await assertFails(.algorithmMismatch("ES256", kid: "rsa")) { () async throws(AuthFailure) in
            try await verifier.verify(confused)
        }
        XCTAssertEqual(verifier.jwksNotes, [])
    }

    func testUnusableKeysAreSkippedWithANote() async throws {
        let keys = try KeyFiles.shared()
        let file = JWKSFile(path: keys.path("jwks.json"))
        var noKid = try PyJWT.jwk("RS256", keyFile: keys.otherRSAPublic, kid: "x")
        noKid["kid"] = nil
        var encryption = try PyJWT.jwk("RS256", keyFile: keys.otherRSAPublic, kid: "enc1")
        encryption["use"] = "enc"
        try file.write([
            ["kty": "oct", "kid": "sym", "k": "c2VjcmV0"], noKid, encryption,
            try PyJWT.jwk("RS256", keyFile: keys.rsaPublic, kid: "good"),
        ])
        let verifier = try await jwksVerifier(file)
        _ = try await verifier.verify(try PyJWT.sign("RS256", keyFile: keys.rsaPrivate, kid: "good"))
        let notes = verifier.jwksNotes
        XCTAssertEqual(notes.count, 3, "\(notes)")
        XCTAssertTrue(notes.contains { $0.contains("kid 'sym'") }, "\(notes)")
        XCTAssertTrue(notes.contains { $0.contains("no kid") }, "\(notes)")
        XCTAssertTrue(notes.contains { $0.contains("use is enc") }, "\(notes)")
    }

    /// A half-written file leaves the keys from before in force until it is whole again.
    func testBrokenRewriteKeepsPreviousKeys() async throws {
        let keys = try KeyFiles.shared()
        let file = JWKSFile(path: keys.path("jwks.json"))
        let kid1 = try PyJWT.jwk("RS256", keyFile: keys.rsaPublic, kid: "kid1")
        try file.write([kid1])
        let verifier = try await jwksVerifier(file)
        let token1 = try PyJWT.sign("RS256", keyFile: keys.rsaPrivate, kid: "kid1")

        try file.write(raw: Data(#"{"keys":[{"kty":"RSA","#.utf8))
        _ = try await verifier.verify(token1)
        XCTAssertNotNil(verifier.jwksError)

        try file.write([kid1, try PyJWT.jwk("RS256", keyFile: keys.otherRSAPublic, kid: "kid2")])
        _ = try await verifier.verify(try PyJWT.sign("RS256", keyFile: keys.otherRSAPrivate, kid: "kid2"))
        XCTAssertNil(verifier.jwksError)
    }

    /// With a recheck interval, a change lands within it: waited for, not slept on.
    func testChangeIsSeenWithinTheRecheckInterval() async throws {
        let keys = try KeyFiles.shared()
        let file = JWKSFile(path: keys.path("jwks.json"))
        try file.write([try PyJWT.jwk("EdDSA", keyFile: keys.edPublic, kid: "old")])
        let verifier = try await jwksVerifier(file, recheck: .milliseconds(200))
        try file.write([try PyJWT.jwk("RS256", keyFile: keys.rsaPublic, kid: "new")])
        let token = try PyJWT.sign("RS256", keyFile: keys.rsaPrivate, kid: "new")
        try await waitUntil {
            (try? await verifier.verify(token)) != nil
        }
    }

    func testReloadKeysAppliesAChangeAtOnce() async throws {
        let keys = try KeyFiles.shared()
        let file = JWKSFile(path: keys.path("jwks.json"))
        try file.write([try PyJWT.jwk("EdDSA", keyFile: keys.edPublic, kid: "old")])
        let verifier = try await jwksVerifier(file, recheck: .seconds(3600))
        try file.write([try PyJWT.jwk("RS256", keyFile: keys.rsaPublic, kid: "new")])
        let token = try PyJWT.sign("RS256", keyFile: keys.rsaPrivate, kid: "new")
        await assertFails(.unsupportedAlgorithm("RS256")) { () async throws(AuthFailure) in try await verifier.verify(token) }
        await verifier.reloadKeys()
        _ = try await verifier.verify(token)
    }

    /// The synchronous cache path never answers past a due check of the file.
    func testCachedIdentityDefersToADueCheck() async throws {
        let keys = try KeyFiles.shared()
        let file = JWKSFile(path: keys.path("jwks.json"))
        let kid1 = try PyJWT.jwk("RS256", keyFile: keys.rsaPublic, kid: "kid1")
        try file.write([kid1])
        let token = try PyJWT.sign("RS256", keyFile: keys.rsaPrivate, kid: "kid1")

        let hourly = try await jwksVerifier(file, recheck: .seconds(3600))
        _ = try await hourly.verify(token)
        XCTAssertNotNil(hourly.cachedIdentity(for: token))
        try file.write([try PyJWT.jwk("RS256", keyFile: keys.otherRSAPublic, kid: "kid2")])
        await hourly.reloadKeys()
        XCTAssertNil(hourly.cachedIdentity(for: token), "verified with a ring that is gone")
        await assertFails(.unknownKeyID("kid1")) { () async throws(AuthFailure) in try await hourly.verify(token) }

        try file.write([kid1])
        let always = try await jwksVerifier(file, recheck: .zero)
        _ = try await always.verify(token)
        XCTAssertTrue(always.isCached(token))
        XCTAssertNil(always.cachedIdentity(for: token), "every call is due for a check")
    }

    func testConfiguredKeysAndJWKSTogether() async throws {
        let keys = try KeyFiles.shared()
        let file = JWKSFile(path: keys.path("jwks.json"))
        try file.write([
            try PyJWT.jwk("RS256", keyFile: keys.rsaPublic, kid: "from-file"),
            // Same kid as a configured key: the configured one stands.
            try PyJWT.jwk("RS256", keyFile: keys.otherRSAPublic, kid: "pinned"),
        ])
        let verifier = try await jwksVerifier(file) { config in
            config.keys = [.publicKeyFile(.es256, path: keys.ecPublic, kid: "pinned")]
        }
        _ = try await verifier.verify(try PyJWT.sign("RS256", keyFile: keys.rsaPrivate, kid: "from-file"))
        _ = try await verifier.verify(try PyJWT.sign("ES256", keyFile: keys.ecPrivate, kid: "pinned"))
        let shadow = try PyJWT.sign("RS256", keyFile: keys.otherRSAPrivate, kid: "pinned")
        await assertFails(.algorithmMismatch("RS256", kid: "pinned")) { () async throws(AuthFailure) in
            try await verifier.verify(shadow)
        }
        XCTAssertTrue(verifier.jwksNotes.contains { $0.contains("kid 'pinned'") })
    }

    func testMissingOrInvalidFileFailsAtStart() async throws {
        let keys = try KeyFiles.shared()
        let missing = keys.path("missing.json")
        await assertConfigError(containing: "cannot read JWKS file") { () async throws(AuthConfigError) in
            try await JWTVerifier(.init(jwksPath: missing))
        }
        let invalid = JWKSFile(path: keys.path("invalid.json"))
        try invalid.write(raw: Data("[]".utf8))
        await assertConfigError(containing: "not a JWKS document") { () async throws(AuthConfigError) in
            try await JWTVerifier(.init(jwksPath: invalid.path))
        }
    }
}
