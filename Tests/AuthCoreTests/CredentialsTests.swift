import XCTest

@testable import AuthCore

final class CredentialsTests: XCTestCase {
    private func extract(_ authorization: String?, _ apiKey: String? = nil) throws -> Credentials {
        try Credentials.extract(authorization: authorization, apiKeyHeaderValue: apiKey)
    }

    func testBearerToken() throws {
        XCTAssertEqual(try extract("Bearer abc.def.ghi"), .bearer("abc.def.ghi"))
        XCTAssertEqual(try extract("bearer   abc.def-_~+/ghi=="), .bearer("abc.def-_~+/ghi=="))
        XCTAssertEqual(try extract("  BEARER xyz  "), .bearer("xyz"))
    }

    func testAPIKey() throws {
        XCTAssertEqual(try extract(nil, " k3y "), .apiKey("k3y"))
        XCTAssertEqual(try extract("", "k3y"), .apiKey("k3y"))
    }

    func testNothing() throws {
        XCTAssertEqual(try extract(nil, nil), .none)
        XCTAssertEqual(try extract("  ", ""), .none)
    }

    func testMalformedHeaders() {
        let cases: [(String?, String?, AuthFailure)] = [
            ("Bearer", nil, .malformedAuthorization),
            ("Bearer    ", nil, .malformedAuthorization),
            ("Bearer a b", nil, .malformedAuthorization),
            ("Bearer a=b", nil, .malformedAuthorization),
            ("Bearer é", nil, .malformedAuthorization),
            ("Basic dXNlcjpwYXNz", nil, .unsupportedScheme("Basic")),
            ("Digest username=x", nil, .unsupportedScheme("Digest")),
            ("{json}", nil, .malformedAuthorization),
            (nil, "two words", .malformedAPIKey),
            (nil, "tab\there", .malformedAPIKey),
            ("Bearer abc", "k3y", .conflictingCredentials),
        ]
        for (authorization, apiKey, expected) in cases {
            XCTAssertThrowsError(try extract(authorization, apiKey), "\(String(describing: authorization))") { error in
                XCTAssertEqual(error as? AuthFailure, expected)
            }
        }
    }
}
