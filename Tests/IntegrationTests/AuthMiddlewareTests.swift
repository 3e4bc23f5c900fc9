import Foundation
import XCTest

/// The auth plugin on a running kernel, with tokens minted by PyJWT: who
/// the caller is reaches the handler on http, ws and tcp; bad tokens,
/// missing credentials and missing roles are refused with 401 or 403.
final class AuthMiddlewareTests: MiddlewareTestCase {
    static let secret = "kernel-test-secret-0123456789abcdef"

    /// A token from PyJWT: `claims` (exp relative to now when an Int under 10^9), HS256 with `secret` unless `alg` says otherwise.
    func mint(_ claims: [String: Any], secret: String = secret, alg: String = "HS256") throws -> String {
        var claims = claims
        let now = Int(Date().timeIntervalSince1970)
        for key in ["exp", "nbf", "iat"] { if let offset = claims[key] as? Int, abs(offset) < 1_000_000_000 { claims[key] = now + offset } }
        let json = String(decoding: try JSONSerialization.data(withJSONObject: claims), as: UTF8.self)
        let script = alg == "none"
            ? "import jwt,json,sys; print(jwt.encode(json.loads(sys.argv[1]), None, algorithm='none'))"
            : "import jwt,json,sys; print(jwt.encode(json.loads(sys.argv[1]), sys.argv[2], algorithm=sys.argv[3]))"
        let result = try runProgram("/usr/bin/env", ["python3", "-c", script, json, secret, alg], workDirectory: NSTemporaryDirectory())
        guard result.status == 0 else { throw SetupError("PyJWT failed: \(result.stderr)") }
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func startAuthStack(_ settings: [String] = []) throws -> Stack {
        try startStack(extraPlugins: ["libauth.so"], settings: [
            "auth.jwt.keys=hs256:\(Self.secret)", "auth.jwt.issuer=tests", "auth.jwt.audience=kernel",
            "auth.rules=probe.public=none, probe.admin=role:admin, *=required",
        ] + settings)
    }

    var valid: [String: Any] {
        ["sub": "ada", "iss": "tests", "aud": "kernel", "exp": 3600, "tenant": "acme", "roles": ["admin", "dev"], "email": "ada@example.com"]
    }

    func testAValidTokenSetsWhoTheCallerIsOnEveryProtocol() throws {
        let stack = try startAuthStack()
        let token = try mint(valid)
        let response = try HTTP.call(port: stack.http, "probe.whoami", headers: [("Authorization", "Bearer \(token)")])
        XCTAssertEqual(response.status, 200, response.summary)
        XCTAssertEqual(response.json?["subject"] as? String, "ada")
        XCTAssertEqual(response.json?["tenant"] as? String, "acme")
        XCTAssertEqual(response.json?["roles"] as? String, "admin,dev")
        XCTAssertEqual(response.json?["email"] as? String, "ada@example.com")
        XCTAssertEqual(try HTTP.call(port: stack.http, "probe.admin", headers: [("Authorization", "Bearer \(token)")]).status, 200)
        // What the request causes inside the process (an invoke) and the operator's kernelctl carry no token and pass.
        let caused = try HTTP.call(port: stack.http, "probe.cause", headers: [("Authorization", "Bearer \(token)")])
        XCTAssertEqual(caused.status, 200, caused.summary)
        XCTAssertNotNil(try stack.kernel.adminResult("call", ["endpoint": "observe.stats", "body": "{}"])["body"] as? String)

        for (name, client) in try envelopeClients(stack) {
            defer { client.close() }
            let answer = try client.call("probe.whoami", meta: ["authorization": "Bearer \(token)"])
            XCTAssertEqual((answer["result"] as? [String: Any])?["subject"] as? String, "ada", "\(name): \(answer)")
            let refused = try client.call("probe.whoami", id: 2)
            XCTAssertEqual(refused.envelopeErrorCode, "unauthorized", "\(name): \(refused)")
        }
    }

    func testBadTokensAreRefused() throws {
        let stack = try startAuthStack()
        var cases: [(String, String)] = [
            ("expired", try mint(valid.merging(["exp": -3600]) { $1 })),
            ("not yet valid", try mint(valid.merging(["nbf": 3600]) { $1 })),
            ("wrong audience", try mint(valid.merging(["aud": "someone-else"]) { $1 })),
            ("wrong issuer", try mint(valid.merging(["iss": "elsewhere"]) { $1 })),
            ("wrong key", try mint(valid, secret: "another-secret-0123456789abcdef-xyz")),
            ("alg none", try mint(valid, alg: "none")),
        ]
        // Tampered: a valid token whose payload now says "admin" for someone else.
        let good = try mint(valid.merging(["sub": "bob", "roles": [String]()]) { $1 })
        let parts = good.split(separator: ".")
        let forged = Data(#"{"sub":"bob","iss":"tests","aud":"kernel","exp":9999999999,"roles":["admin"]}"#.utf8).base64EncodedString()
            .replacingOccurrences(of: "=", with: "").replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
        cases.append(("tampered", "\(parts[0]).\(forged).\(parts[2])"))
        for (name, token) in cases {
            let response = try HTTP.call(port: stack.http, "probe.whoami", headers: [("Authorization", "Bearer \(token)")])
            XCTAssertEqual(response.status, 401, "\(name): \(response.summary)")
            XCTAssertTrue(response.header("www-authenticate")?.hasPrefix("Bearer realm=\"kernel\", error=\"invalid_token\"") ?? false,
                          "\(name): \(response.headers)")
            // Even where none is required, a broken token is refused.
            XCTAssertEqual(try HTTP.call(port: stack.http, "probe.public", headers: [("Authorization", "Bearer \(token)")]).status, 401, name)
        }
        let missing = try HTTP.call(port: stack.http, "probe.whoami")
        XCTAssertEqual(missing.status, 401, missing.summary)
        XCTAssertEqual(missing.header("www-authenticate"), "Bearer realm=\"kernel\"")
        XCTAssertEqual(try HTTP.call(port: stack.http, "probe.public").status, 200)

        // Valid, but without the role: 403.
        let developer = try mint(valid.merging(["roles": ["dev"]]) { $1 })
        let forbidden = try HTTP.call(port: stack.http, "probe.admin", headers: [("Authorization", "Bearer \(developer)")])
        XCTAssertEqual(forbidden.status, 403, forbidden.summary)
        XCTAssertEqual(forbidden.errorCode, "forbidden")
    }

    func testAPIKeysAreStoredHashed() throws {
        // The entry holds the SHA-256 of the key, never the key.
        let hash = try runProgram("/usr/bin/env", ["python3", "-c", "import hashlib; print(hashlib.sha256(b'k-live-123').hexdigest())"],
                                  workDirectory: NSTemporaryDirectory()).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let stack = try startAuthStack(["auth.api_keys=\(hash):svc-reports:admin"])
        let response = try HTTP.call(port: stack.http, "probe.whoami", headers: [("X-Api-Key", "k-live-123")])
        XCTAssertEqual(response.status, 200, response.summary)
        XCTAssertEqual(response.json?["subject"] as? String, "svc-reports")
        XCTAssertEqual(try HTTP.call(port: stack.http, "probe.admin", headers: [("X-Api-Key", "k-live-123")]).status, 200)
        XCTAssertEqual(try HTTP.call(port: stack.http, "probe.whoami", headers: [("X-Api-Key", "k-live-124")]).status, 401)
        XCTAssertFalse(stack.kernel.log().contains("k-live-123"))
    }

    func testAPreflightPassesAuthentication() throws {
        let stack = try startAuthStack(["guard.cors_origins=https://app.example.com"])
        let preflight = try HTTP.request(port: stack.http, "OPTIONS", "/api/probe.whoami", headers: [
            ("Origin", "https://app.example.com"), ("Access-Control-Request-Method", "POST"),
            ("Access-Control-Request-Headers", "authorization"),
        ])
        XCTAssertEqual(preflight.status, 204, preflight.summary)
        XCTAssertEqual(preflight.header("access-control-allow-origin"), "https://app.example.com")
    }
}
