import Foundation
import XCTest

@testable import AuthCore

/// Each supported algorithm verifies tokens minted by PyJWT (and, for HS256,
/// by openssl), and the claims come out as an Identity.
final class JWTAlgorithmTests: XCTestCase {
    let secret = "a-test-secret-of-thirty-two-bytes"

    func testHS256() async throws {
        _ = try KeyFiles.shared()
        let verifier = try await JWTVerifier(.init(keys: [.hs256(secret: secret)]))
        let identity = try await verifier.verify(try PyJWT.sign("HS256", secret: secret))
        XCTAssertEqual(identity.subject, "alice")
    }

    func testHS256FromBase64Secret() async throws {
        _ = try KeyFiles.shared()
        let encoded = Data(secret.utf8).base64EncodedString()
        let verifier = try await JWTVerifier(.init(keys: [try KeySpec(parsing: "hs256-base64:\(encoded)")]))
        let identity = try await verifier.verify(try PyJWT.sign("HS256", secret: secret))
        XCTAssertEqual(identity.subject, "alice")
    }

    /// Header, payload and signature made with openssl and no JWT library at all.
    func testHS256SignedWithOpenSSL() async throws {
        func segment(_ data: Data) -> String {
            data.base64EncodedString().replacingOccurrences(of: "+", with: "-")
                .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
        }
        let exp = Int(Date().timeIntervalSince1970) + 600
        let input = segment(Data(#"{"alg":"HS256","typ":"JWT"}"#.utf8)) + "."
            + segment(Data(#"{"sub":"bob","exp":\#(exp)}"#.utf8))
        let mac = try runTool(["openssl", "dgst", "-sha256", "-hmac", secret, "-binary"], input: Data(input.utf8))
        let verifier = try await JWTVerifier(.init(keys: [.hs256(secret: secret)]))
        let identity = try await verifier.verify(input + "." + segment(mac))
        XCTAssertEqual(identity.subject, "bob")
    }

    func testRS256() async throws {
        let keys = try KeyFiles.shared()
        let verifier = try await JWTVerifier(.init(keys: [.publicKeyFile(.rs256, path: keys.rsaPublic)]))
        let identity = try await verifier.verify(try PyJWT.sign("RS256", keyFile: keys.rsaPrivate))
        XCTAssertEqual(identity.subject, "alice")
    }

    func testES256() async throws {
        let keys = try KeyFiles.shared()
        let verifier = try await JWTVerifier(.init(keys: [try KeySpec(parsing: "es256:\(keys.ecPublic)")]))
        let identity = try await verifier.verify(try PyJWT.sign("ES256", keyFile: keys.ecPrivate))
        XCTAssertEqual(identity.subject, "alice")
    }

    func testEdDSA() async throws {
        let keys = try KeyFiles.shared()
        let verifier = try await JWTVerifier(.init(keys: [try KeySpec(parsing: "eddsa#ed1:\(keys.edPublic)")]))
        let identity = try await verifier.verify(try PyJWT.sign("EdDSA", keyFile: keys.edPrivate, kid: "ed1"))
        XCTAssertEqual(identity.subject, "alice")
    }

    /// With several keys configured, each token finds its own by kid or by alg.
    func testMixedKeysPickTheRightOne() async throws {
        let keys = try KeyFiles.shared()
        let verifier = try await JWTVerifier(
            .init(keys: [
                .hs256(secret: secret, kid: "h"),
                .publicKeyFile(.rs256, path: keys.rsaPublic, kid: "r"),
                .publicKeyFile(.es256, path: keys.ecPublic),
                .publicKeyFile(.eddsa, path: keys.edPublic),
            ]))
        for token in [
            try PyJWT.sign("HS256", secret: secret, kid: "h"),
            try PyJWT.sign("RS256", keyFile: keys.rsaPrivate, kid: "r"),
            try PyJWT.sign("RS256", keyFile: keys.rsaPrivate),
            try PyJWT.sign("ES256", keyFile: keys.ecPrivate, kid: "not-configured"),
            try PyJWT.sign("EdDSA", keyFile: keys.edPrivate),
        ] {
            let identity = try await verifier.verify(token)
            XCTAssertEqual(identity.subject, "alice")
        }
    }

    func testClaimsBecomeIdentity() async throws {
        _ = try KeyFiles.shared()
        var config = JWTVerifier.Configuration(keys: [.hs256(secret: secret)])
        config.rolesClaims = ["roles", "scope", "realm_access.roles"]
        let verifier = try await JWTVerifier(config)
        let token = try PyJWT.sign(
            "HS256", secret: secret,
            claims: PyJWT.claims([
                "tenant": "acme", "roles": ["admin", "ops"], "scope": "read write,admin",
                "realm_access": ["roles": ["auditor"]], "n": 42, "ratio": 1.5, "ok": true,
                "aud": ["a", "b"], "nothing": NSNull(), "name": "Zoë \"Z\"",
            ]))
        let identity = try await verifier.verify(token)
        XCTAssertEqual(identity.subject, "alice")
        XCTAssertEqual(identity.tenant, "acme")
        XCTAssertEqual(identity.roles, ["admin", "ops", "read", "write", "auditor"])
        XCTAssertEqual(identity.claims["tenant"], "acme")
        XCTAssertEqual(identity.claims["n"], "42")
        XCTAssertEqual(identity.claims["ratio"], "1.5")
        XCTAssertEqual(identity.claims["ok"], "true")
        XCTAssertEqual(identity.claims["nothing"], "null")
        XCTAssertEqual(identity.claims["aud"], #"["a","b"]"#)
        XCTAssertEqual(identity.claims["roles"], #"["admin","ops"]"#)
        XCTAssertEqual(identity.claims["realm_access"], #"{"roles":["auditor"]}"#)
        XCTAssertEqual(identity.claims["name"], "Zoë \"Z\"")
        XCTAssertNotNil(identity.claims["exp"].flatMap(Int.init))
    }

    func testTenantAndRolesClaimNamesAreConfigurable() async throws {
        _ = try KeyFiles.shared()
        var config = JWTVerifier.Configuration(keys: [.hs256(secret: secret)])
        config.tenantClaim = "org"
        config.rolesClaims = ["groups"]
        let verifier = try await JWTVerifier(config)
        let identity = try await verifier.verify(
            try PyJWT.sign("HS256", secret: secret, claims: PyJWT.claims(["org": 7, "groups": "a, b", "roles": ["x"]])))
        XCTAssertEqual(identity.tenant, "7")
        XCTAssertEqual(identity.roles, ["a", "b"])
    }

    func testTokenWithoutSubjectIsRefused() async throws {
        _ = try KeyFiles.shared()
        let verifier = try await JWTVerifier(.init(keys: [.hs256(secret: secret)]))
        var claims = PyJWT.claims()
        claims["sub"] = nil
        let token = try PyJWT.sign("HS256", secret: secret, claims: claims)
        await assertFails(.missingSubject) { () async throws(AuthFailure) in try await verifier.verify(token) }
    }
}
