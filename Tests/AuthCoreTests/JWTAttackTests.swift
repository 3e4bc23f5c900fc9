import Foundation
import XCTest

@testable import AuthCore

/// Tokens that must never pass: wrong keys, edited payloads, `alg: none`,
/// algorithm confusion, unknown key ids and garbage.
final class JWTAttackTests: XCTestCase {
    let secret = "attack-secret-attack-secret-0123"

    func testWrongRSAKeyIsRefused() async throws {
        let keys = try KeyFiles.shared()
        let verifier = try await JWTVerifier(.init(keys: [.publicKeyFile(.rs256, path: keys.rsaPublic)]))
        let token = try PyJWT.sign("RS256", keyFile: keys.otherRSAPrivate)
        await assertFails(.badSignature) { () async throws(AuthFailure) in try await verifier.verify(token) }
    }

    func testWrongSecretIsRefused() async throws {
        _ = try KeyFiles.shared()
        let verifier = try await JWTVerifier(.init(keys: [.hs256(secret: secret)]))
        let token = try PyJWT.sign("HS256", secret: "not-the-secret-not-the-secret-01")
        await assertFails(.badSignature) { () async throws(AuthFailure) in try await verifier.verify(token) }
    }

    func testTamperedPayloadIsRefused() async throws {
        let keys = try KeyFiles.shared()
        let verifier = try await JWTVerifier(
            .init(keys: [.hs256(secret: secret), .publicKeyFile(.es256, path: keys.ecPublic)]))
        for token in [try PyJWT.sign("HS256", secret: secret), try PyJWT.sign("ES256", keyFile: keys.ecPrivate)] {
            let parts = token.split(separator: ".").map(String.init)
            let payload = String(decoding: Base64URL.decode(Array(parts[1].utf8))!, as: UTF8.self)
            let edited = payload.replacingOccurrences(of: "alice", with: "admin")
            XCTAssertNotEqual(edited, payload)
            let encoded = Data(edited.utf8).base64EncodedString().replacingOccurrences(of: "+", with: "-")
                .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
            let forged = [parts[0], encoded, parts[2]].joined(separator: ".")
            await assertFails(.badSignature) { () async throws(AuthFailure) in try await verifier.verify(forged) }
        }
    }

    func testAlgNoneIsRefused() async throws {
        _ = try KeyFiles.shared()
        let verifier = try await JWTVerifier(.init(keys: [.hs256(secret: secret)]))
        let token = try PyJWT.unsigned()
        XCTAssertTrue(token.hasSuffix("."), "an unsecured JWS has an empty signature")
        await assertFails(.unsupportedAlgorithm("none")) { () async throws(AuthFailure) in try await verifier.verify(token) }
        // Case games do not help either.
        let shouted = forgeHeader(#"{"alg":"NONE","typ":"JWT"}"#, onto: token)
        await assertFails(.unsupportedAlgorithm("NONE")) { () async throws(AuthFailure) in try await verifier.verify(shouted) }
    }

    /// The classic attack: an HS256 token whose secret is the server's RSA public key text.
    func testHS256SignedWithRSAPublicKeyIsRefused() async throws {
        let keys = try KeyFiles.shared()
        let rsaOnly = try await JWTVerifier(.init(keys: [.publicKeyFile(.rs256, path: keys.rsaPublic)]))
        let token = try PyJWT.hs256(secretFile: keys.rsaPublic)
        await assertFails(.unsupportedAlgorithm("HS256")) { () async throws(AuthFailure) in try await rsaOnly.verify(token) }

        // With an HS256 key configured too, the RSA key is still never used as a secret.
        let both = try await JWTVerifier(
            .init(keys: [.publicKeyFile(.rs256, path: keys.rsaPublic, kid: "rsa1"), .hs256(secret: secret)]))
        await assertFails(.badSignature) { () async throws(AuthFailure) in try await both.verify(token) }
        let aimed = try PyJWT.hs256(secretFile: keys.rsaPublic, kid: "rsa1")
        await assertFails(.algorithmMismatch("HS256", kid: "rsa1")) { () async throws(AuthFailure) in try await both.verify(aimed) }
    }

    func testUnknownCriticalHeaderIsRefused() async throws {
        _ = try KeyFiles.shared()
        let verifier = try await JWTVerifier(.init(keys: [.hs256(secret: secret)]))
        let token = try PyJWT.rawHS256(
            secret: secret, claims: PyJWT.claims(), headers: ["crit": ["exp-ext"], "exp-ext": 1])
        await assertFails(.unsupportedCriticalHeader) { () async throws(AuthFailure) in try await verifier.verify(token) }
    }

    func testUnconfiguredAlgorithmIsRefused() async throws {
        _ = try KeyFiles.shared()
        let verifier = try await JWTVerifier(.init(keys: [.hs256(secret: secret)]))
        let token = try PyJWT.sign("HS512", secret: secret)
        await assertFails(.unsupportedAlgorithm("HS512")) { () async throws(AuthFailure) in try await verifier.verify(token) }
    }

    func testUnknownKeyIDIsRefused() async throws {
        let keys = try KeyFiles.shared()
        let verifier = try await JWTVerifier(
            .init(keys: [.hs256(secret: secret, kid: "k1"), .publicKeyFile(.rs256, path: keys.rsaPublic, kid: "k2")]))
        let token = try PyJWT.sign("HS256", secret: secret, kid: "k9")
        await assertFails(.unknownKeyID("k9")) { () async throws(AuthFailure) in try await verifier.verify(token) }
        _ = try await verifier.verify(try PyJWT.sign("HS256", secret: secret, kid: "k1"))
    }

    func testMalformedTokensAreRefused() async throws {
        _ = try KeyFiles.shared()
        let verifier = try await JWTVerifier(.init(keys: [.hs256(secret: secret)]))
        let valid = try PyJWT.sign("HS256", secret: secret)
        let parts = valid.split(separator: ".").map(String.init)
        let garbage = [
            "", "abc", "a.b", "a.b.c.d", "..", "!!!.e30.sig",
            "e30.\(parts[1]).\(parts[2])",  // header {} has no alg
            "bm90IGpzb24.\(parts[1]).\(parts[2])",  // header is not JSON
            "eyJhbGciOiJIUzI1NiIsImtpZCI6N30.\(parts[1]).\(parts[2])",  // kid is a number
            valid + String(repeating: "A", count: 9000),
        ]
        for token in garbage {
            await assertFails(.malformedToken) { () async throws(AuthFailure) in try await verifier.verify(token) }
        }
    }

    /// Reasons quote the request's own text only clipped and printable.
    func testReasonsDoNotEchoLongOrControlText() {
        let reason = AuthFailure.unknownKeyID(String(repeating: "x", count: 500) + "\n'evil").reason
        XCTAssertLessThan(reason.count, 80)
        XCTAssertFalse(reason.contains("\n"))
    }

    private func forgeHeader(_ json: String, onto token: String) -> String {
        let header = Data(json.utf8).base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
        let rest = token.split(separator: ".", omittingEmptySubsequences: false).dropFirst()
        return ([header] + rest.map(String.init)).joined(separator: ".")
    }
}
