import XCTest

@testable import AuthCore

final class AccessRulesTests: XCTestCase {
    func testExampleRules() throws {
        let rules = try AccessRules(parsing: "admin.*=role:admin|ops, users.*=required, public.*=none, *=none")
        XCTAssertEqual(rules.requirement(forEndpoint: "admin.reload"), .roles(["admin", "ops"]))
        XCTAssertEqual(rules.requirement(forEndpoint: "users.get"), .required)
        XCTAssertEqual(rules.requirement(forEndpoint: "users.admin.list"), .required)
        XCTAssertEqual(rules.requirement(forEndpoint: "public.ping"), .none)
        XCTAssertEqual(rules.requirement(forEndpoint: "users"), .none, "users.* does not match users itself")
        XCTAssertEqual(rules.requirement(forEndpoint: "health"), .none)
        XCTAssertEqual(rules.description, "admin.*=role:admin|ops, users.*=required, public.*=none, *=none")
    }

    func testFirstMatchWinsAndExactNames() throws {
        let rules = try AccessRules(parsing: """
            users.login=none
            users.*=required
            # operators only
            ops.* = role: ops
            """)
        XCTAssertEqual(rules.requirement(forEndpoint: "users.login"), .none)
        XCTAssertEqual(rules.requirement(forEndpoint: "users.logout"), .required)
        XCTAssertEqual(rules.requirement(forEndpoint: "ops.drain"), .roles(["ops"]))
    }

    func testUnmatchedEndpointsFailClosed() throws {
        XCTAssertEqual(try AccessRules(parsing: "public.*=none").requirement(forEndpoint: "users.get"), .required)
        XCTAssertEqual(try AccessRules(parsing: "").requirement(forEndpoint: "anything"), .required)
    }

    func testParseErrors() async {
        let cases: [(String, String)] = [
            ("users.*", "expected <pattern>=<requirement>"),
            ("=none", "the pattern before '=' is empty"),
            ("users.*=sometimes", "unknown requirement 'sometimes'"),
            ("admin.*=role:", "role: needs at least one role name"),
            ("admin.*=role:admin||ops", "may not be empty"),
            ("a*b=none", "'*' may only end a pattern"),
            ("*.get=none", "'*' may only end a pattern"),
            ("us ers=none", "contains a space"),
            ("users.*=required, users.*=none", "already has rule 1"),
        ]
        for (text, fragment) in cases {
            await assertConfigError(containing: fragment) { () async throws(AuthConfigError) in try AccessRules(parsing: text) }
        }
    }

    func testRequirementChecks() {
        let alice = Identity(subject: "alice", roles: ["ops"])
        XCTAssertNil(Requirement.none.check(nil))
        XCTAssertEqual(Requirement.required.check(nil), .missingCredentials)
        XCTAssertNil(Requirement.required.check(alice))
        XCTAssertNil(Requirement.roles(["admin", "ops"]).check(alice))
        XCTAssertEqual(Requirement.roles(["admin"]).check(alice)?.kind, .forbidden)
        XCTAssertEqual(Requirement.roles(["admin"]).check(alice)?.reason, "requires role admin")
        XCTAssertEqual(Requirement.roles(["admin"]).check(nil), .missingCredentials)
        XCTAssertFalse(Requirement.none.needsIdentity)
        XCTAssertTrue(Requirement.roles(["x"]).needsIdentity)
    }
}
