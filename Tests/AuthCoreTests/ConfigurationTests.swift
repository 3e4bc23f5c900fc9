import Foundation
import XCTest

@testable import AuthCore

/// The text forms of keys and settings, and the errors for values that cannot be used.
final class ConfigurationTests: XCTestCase {
    func testKeySpecForms() throws {
        XCTAssertEqual(try KeySpec(parsing: "hs256:a:b:c"), .hs256(secret: "a:b:c"))
        XCTAssertEqual(try KeySpec(parsing: " HS256#k1:s "), .hs256(secret: "s", kid: "k1"))
        XCTAssertEqual(try KeySpec(parsing: "hs256-base64:c2VjcmV0"), .hs256(secret: "secret"))
        XCTAssertEqual(try KeySpec(parsing: "hs256-base64:_-8"), KeySpec(algorithm: .hs256, material: .secret([0xFF, 0xEF])))
        XCTAssertEqual(try KeySpec(parsing: "rs256#2024:/etc/k.pem"), .publicKeyFile(.rs256, path: "/etc/k.pem", kid: "2024"))
        XCTAssertEqual(try KeySpec(parsing: "es256:/k.pem").algorithm, .es256)
        XCTAssertEqual(try KeySpec(parsing: "eddsa:/k.pem").algorithm, .eddsa)
        XCTAssertFalse(KeySpec.hs256(secret: "do-not-print-me").description.contains("do-not-print-me"))
    }

    func testKeySpecErrors() async {
        let cases: [(String, String)] = [
            ("hs256", "expected <scheme>[#<kid>]:<value>"),
            ("hs256:", "no value after ':'"),
            ("hs256#:x", "empty kid"),
            ("hs256-base64:!!!", "not base64"),
            ("ps256:/k.pem", "unknown scheme 'ps256'"),
        ]
        for (text, fragment) in cases {
            await assertConfigError(containing: fragment) { () async throws(AuthConfigError) in try KeySpec(parsing: text) }
        }
    }

    func testKeysThatDoNotLoadStopTheVerifier() async throws {
        let keys = try KeyFiles.shared()
        let cases: [(KeySpec, String)] = [
            (.publicKeyFile(.rs256, path: "/nonexistent.pem"), "cannot read key file"),
            (.publicKeyFile(.es256, path: keys.rsaPublic), "not a ES256 public key"),
            (.publicKeyFile(.eddsa, path: keys.ecPublic), "not a EdDSA public key"),
            (.publicKeyFile(.rs256, path: keys.rsaPrivate), "not a RS256 public key"),
            (.hs256(secret: ""), "at least 32 bytes"),
            (.hs256(secret: String(repeating: "s", count: 31)), "at least 32 bytes"),
            (KeySpec(algorithm: .rs256, material: .secret([1])), "takes a PEM file"),
        ]
        for (spec, fragment) in cases {
            await assertConfigError(containing: fragment) { () async throws(AuthConfigError) in try await JWTVerifier(.init(keys: [spec])) }
        }
        await assertConfigError(containing: "no JWT keys") { () async throws(AuthConfigError) in try await JWTVerifier(.init()) }
        await assertConfigError(containing: "configured twice") { () async throws(AuthConfigError) in
            try await JWTVerifier(.init(keys: [.hs256(secret: "a", kid: "k"), .hs256(secret: "b", kid: "k")]))
        }
    }

    func testSettingsFromConfigValues() async throws {
        let keys = try KeyFiles.shared()
        let apiKey = try APIKeyStore.entry(forKey: "k3y", subject: "ci", roles: ["deploy"])
        let values = [
            "jwt.keys": "hs256#h1:settings-secret-settings-secret!, rs256:\(keys.rsaPublic)",
            "jwt.issuer": "https://id.example.com/",
            "jwt.audience": "kernel",
            "jwt.leeway": "5",
            "jwt.require_exp": "false",
            "jwt.tenant_claim": "org",
            "jwt.roles_claim": "roles, scope",
            "jwt.cache_size": "100",
            "api_keys": apiKey,
            "api_key_header": "X-Kernel-Key",
            "rules": "admin.*=role:admin, *=required",
        ]
        let settings = try AuthSettings(config: { values[$0] })
        let jwt = try XCTUnwrap(settings.jwt)
        XCTAssertEqual(jwt.keys.map(\.kid), ["h1", nil])
        XCTAssertEqual(jwt.issuer, "https://id.example.com/")
        XCTAssertEqual(jwt.audience, "kernel")
        XCTAssertEqual(jwt.leeway, 5)
        XCTAssertFalse(jwt.requireExpiry)
        XCTAssertEqual(jwt.tenantClaim, "org")
        XCTAssertEqual(jwt.rolesClaims, ["roles", "scope"])
        XCTAssertEqual(jwt.cacheCapacity, 100)
        XCTAssertEqual(try settings.apiKeys.identity(forKey: "k3y").subject, "ci")
        XCTAssertEqual(settings.apiKeyHeader, "x-kernel-key")
        XCTAssertEqual(settings.rules.requirement(forEndpoint: "admin.x"), .roles(["admin"]))

        let verifier = try await JWTVerifier(jwt)
        let token = try PyJWT.sign(
            "HS256", secret: "settings-secret-settings-secret!", kid: "h1",
            claims: ["sub": "bob", "iss": "https://id.example.com/", "aud": "kernel", "org": "acme", "scope": "a b"])
        let identity = try await verifier.verify(token)
        XCTAssertEqual(identity.tenant, "acme")
        XCTAssertEqual(identity.roles, ["a", "b"])
    }

    func testSettingsDefaultsAndErrors() async throws {
        let empty = try AuthSettings(config: { _ in nil })
        XCTAssertNil(empty.jwt)
        XCTAssertEqual(empty.apiKeys.count, 0)
        XCTAssertEqual(empty.apiKeyHeader, "x-api-key")
        XCTAssertEqual(empty.rules.requirement(forEndpoint: "x"), .required)

        let withKey = try AuthSettings(config: { $0 == "jwt.keys" ? "hs256:s" : nil })
        XCTAssertEqual(withKey.jwt?.leeway, 60)
        XCTAssertEqual(withKey.jwt?.requireExpiry, true)
        XCTAssertEqual(withKey.jwt?.cacheCapacity, 10_000)
        XCTAssertEqual(withKey.jwt?.jwksRecheckInterval, .seconds(1))

        let bad: [([String: String], String)] = [
            (["jwt.keys": "hs256:s", "jwt.leeway": "-1"], "jwt.leeway"),
            (["jwt.keys": "hs256:s", "jwt.require_exp": "maybe"], "jwt.require_exp"),
            (["jwt.keys": "nope"], "expected <scheme>"),
            (["rules": "x"], "expected <pattern>=<requirement>"),
            (["api_keys": "zz:alice"], "64 hex digits"),
            (["api_keys_file": "/nonexistent"], "cannot read API key file"),
        ]
        for (values, fragment) in bad {
            await assertConfigError(containing: fragment) { () async throws(AuthConfigError) in
                try AuthSettings(config: { values[$0] })
            }
        }
    }
}
