import Foundation
import XCTest

@testable import AuthCore

final class APIKeyStoreTests: XCTestCase {
    func testHashMatchesKnownVectorAndOpenSSL() throws {
        XCTAssertEqual(APIKeyStore.hash(ofKey: "abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        let key = "k3y-\(UUID().uuidString)"
        let output = String(decoding: try runTool(["openssl", "dgst", "-sha256", "-r"], input: Data(key.utf8)), as: UTF8.self)
        XCTAssertEqual(APIKeyStore.hash(ofKey: key), String(output.prefix(64)))
    }

    func testEntryRoundTripsToIdentity() throws {
        let line = try APIKeyStore.entry(forKey: "s3cret", subject: "ci", roles: ["deploy", "read"], tenant: "acme")
        XCTAssertEqual(line, APIKeyStore.hash(ofKey: "s3cret") + ":ci:deploy+read:acme")
        let store = try APIKeyStore(parsing: line)
        let identity = try store.identity(forKey: "s3cret")
        XCTAssertEqual(identity, Identity(subject: "ci", tenant: "acme", roles: ["deploy", "read"], claims: ["sub": "ci", "tenant": "acme"]))
    }

    func testShortEntryForms() throws {
        XCTAssertEqual(try APIKeyStore.entry(forKey: "a", subject: "svc"), APIKeyStore.hash(ofKey: "a") + ":svc")
        XCTAssertEqual(try APIKeyStore.entry(forKey: "b", subject: "svc", tenant: "t1"), APIKeyStore.hash(ofKey: "b") + ":svc::t1")
        let store = try APIKeyStore(parsing: APIKeyStore.hash(ofKey: "b") + ":svc::t1")
        XCTAssertEqual(try store.identity(forKey: "b").roles, [])
        XCTAssertEqual(try store.identity(forKey: "b").tenant, "t1")
    }

    func testLookupAmongManyAndUnknownKeys() throws {
        let text = try (0..<50).map { try APIKeyStore.entry(forKey: "key-\($0)", subject: "user\($0)", roles: ["r\($0 % 3)"]) }
            .joined(separator: ", ")
        let store = try APIKeyStore(parsing: text)
        XCTAssertEqual(store.count, 50)
        XCTAssertEqual(try store.identity(forKey: "key-42").subject, "user42")
        XCTAssertEqual(try store.identity(forKey: "key-42").roles, ["r0"])
        for wrong in ["key-50", "", "KEY-42", "key-42 ", APIKeyStore.hash(ofKey: "key-42")] {
            XCTAssertThrowsError(try store.identity(forKey: wrong)) { error in
                XCTAssertEqual(error as? AuthFailure, .unknownAPIKey)
            }
        }
    }

    func testFileWithCommentsAndBlankLines() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("apikeys-\(UUID().uuidString)").path
        let upper = APIKeyStore.hash(ofKey: "two").uppercased()
        let text = """
            # service keys
            \(try APIKeyStore.entry(forKey: "one", subject: "backup", roles: ["ops"]))

              \(upper):reporting:read
            """
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        let store = try APIKeyStore(contentsOfFile: path)
        XCTAssertEqual(store.count, 2)
        XCTAssertEqual(try store.identity(forKey: "one").roles, ["ops"])
        XCTAssertEqual(try store.identity(forKey: "two").subject, "reporting")
        let merged = try store.merging(try APIKeyStore(parsing: try APIKeyStore.entry(forKey: "three", subject: "x")))
        XCTAssertEqual(merged.count, 3)
        XCTAssertThrowsError(try store.merging(store))
    }

    func testBadEntriesAreExplained() async {
        let hash = APIKeyStore.hash(ofKey: "k")
        let cases: [(String, String)] = [
            ("nothex:alice", "64 hex digits"),
            (String(hash.dropLast()) + ":alice", "64 hex digits"),
            (hash, "expected <sha256-hex>:<subject>"),
            (hash + ":", "subject must be non-empty"),
            (hash + ":al ice", "subject must be non-empty"),
            (hash + ":alice:admin++ops", "roles are names joined by '+'"),
            (hash + ":alice:admin:", "tenant must be non-empty"),
            (hash + ":alice:admin:t:extra", "expected <sha256-hex>:<subject>"),
            ("\(hash):alice\n\(hash):bob", "appears twice"),
        ]
        for (text, fragment) in cases {
            await assertConfigError(containing: fragment) { () async throws(AuthConfigError) in try APIKeyStore(parsing: text) }
        }
        await assertConfigError(containing: "cannot read API key file") { () async throws(AuthConfigError) in
            try APIKeyStore(contentsOfFile: "/nonexistent/keys")
        }
        for (subject, roles, tenant) in [("a:b", [String](), String?.none), ("a", ["x+y"], nil), ("a", [""], nil), ("a", [], "t:u")] {
            await assertConfigError(containing: "must be non-empty") { () async throws(AuthConfigError) in
                try APIKeyStore.entry(forKey: "k", subject: subject, roles: roles, tenant: tenant)
            }
        }
    }
}
