import Foundation
import XCTest

/// The users sample over real HTTP, on the storage service.
extension StorageTestCase {
    func checkUsersSample() throws {
        let kernel = try startStorageKernel(plugins: ["libusers.so"])
        let port = kernel.httpPort
        func json(_ object: [String: Any]) -> [UInt8] { Array(try! JSONSerialization.data(withJSONObject: object)) }
        func post(_ path: String, _ body: [String: Any]) throws -> HTTPResponse {
            try HTTP.request(port: port, "POST", path, headers: [("Content-Type", "application/json")], body: json(body))
        }

        // Create, over REST and over the endpoint.
        let ada = try post("/users", ["username": "ada", "email": "Ada@Example.com"])
        XCTAssertEqual(ada.status, 200, ada.summary)
        let adaID = try XCTUnwrap(ada.json?["id"] as? String, ada.summary)
        XCTAssertEqual(ada.json?["email"] as? String, "ada@example.com", "e-mails are kept in lower case")
        XCTAssertEqual(ada.json?["status"] as? String, "active")
        for (name, status) in [("grace", "active"), ("linus", "inactive"), ("margaret", "active"), ("alan", "suspended")] {
            let created = try post("/api/users.create", ["username": name, "email": "\(name)@example.com", "status": status])
            XCTAssertEqual(created.status, 200, created.summary)
        }

        // Validation errors name each field.
        let invalid = try post("/users", ["username": "x", "email": "not-an-email", "status": "gone"])
        XCTAssertEqual(invalid.status, 422, invalid.summary)
        XCTAssertEqual(invalid.errorCode, "validation")
        let fields = ((invalid.json?["error"] as? [String: Any])?["details"] as? [String: Any])?["fields"] as? [[String: Any]] ?? []
        XCTAssertEqual(Set(fields.compactMap { $0["field"] as? String }), ["username", "email", "status"], invalid.summary)
        let missing = try post("/users", [:])
        XCTAssertEqual(missing.status, 422, missing.summary)

        // A duplicate e-mail (in any case) is a conflict.
        let duplicate = try post("/users", ["username": "ada2", "email": "ADA@example.com"])
        XCTAssertEqual(duplicate.status, 409, duplicate.summary)
        XCTAssertEqual(duplicate.errorCode, "conflict")

        // Get, and 404.
        let got = try HTTP.request(port: port, "GET", "/users/\(adaID)")
        XCTAssertEqual(got.status, 200, got.summary)
        XCTAssertEqual(got.json?["username"] as? String, "ada")
        let absent = try HTTP.request(port: port, "GET", "/users/no-such-id")
        XCTAssertEqual(absent.status, 404, absent.summary)
        XCTAssertEqual(absent.errorCode, "not_found")

        // Search: filters and pagination.
        let active = try HTTP.request(port: port, "GET", "/users?status=active&limit=2")
        XCTAssertEqual(active.status, 200, active.summary)
        XCTAssertEqual(active.json?["total_count"] as? Int, 3, active.summary)
        XCTAssertEqual((active.json?["users"] as? [Any])?.count, 2)
        XCTAssertEqual(active.json?["has_more"] as? Bool, true)
        let secondPage = try HTTP.request(port: port, "GET", "/users?status=active&limit=2&page=1")
        XCTAssertEqual((secondPage.json?["users"] as? [Any])?.count, 1, secondPage.summary)
        XCTAssertEqual(secondPage.json?["has_more"] as? Bool, false)
        let pagedIDs = ((active.json?["users"] as? [[String: Any]] ?? []) + (secondPage.json?["users"] as? [[String: Any]] ?? []))
            .compactMap { $0["id"] as? String }
        XCTAssertEqual(Set(pagedIDs).count, 3, "pages do not overlap")
        let byText = try post("/api/users.search", ["query": "MAR"])
        XCTAssertEqual(((byText.json?["users"] as? [[String: Any]])?.compactMap { $0["username"] as? String }), ["margaret"], byText.summary)
        let badSearch = try post("/api/users.search", ["limit": 0, "created_after": "yesterday"])
        XCTAssertEqual(badSearch.status, 422, badSearch.summary)
        let future = try post("/api/users.search", ["created_after": "2999-01-01T00:00:00Z"])
        XCTAssertEqual(future.json?["total_count"] as? Int, 0, future.summary)

        // Update: fields change, a taken e-mail conflicts, a missing user is 404.
        let updated = try HTTP.request(port: port, "PATCH", "/users/\(adaID)", headers: [("Content-Type", "application/json")],
                                       body: json(["username": "ada.lovelace", "status": "inactive"]))
        XCTAssertEqual(updated.status, 200, updated.summary)
        XCTAssertEqual(updated.json?["username"] as? String, "ada.lovelace")
        XCTAssertEqual(updated.json?["email"] as? String, "ada@example.com")
        let taken = try post("/api/users.update", ["id": adaID, "email": "grace@example.com"])
        XCTAssertEqual(taken.status, 409, taken.summary)
        let ghost = try post("/api/users.update", ["id": "ghost", "status": "active"])
        XCTAssertEqual(ghost.status, 404, ghost.summary)

        // Soft delete: gone from get and search, the e-mail is free again, a second delete is 404.
        let deleted = try HTTP.request(port: port, "DELETE", "/users/\(adaID)")
        XCTAssertEqual(deleted.status, 200, deleted.summary)
        XCTAssertEqual(try HTTP.request(port: port, "GET", "/users/\(adaID)").status, 404)
        XCTAssertEqual(try HTTP.request(port: port, "DELETE", "/users/\(adaID)").status, 404)
        let all = try HTTP.request(port: port, "GET", "/users?limit=100")
        XCTAssertEqual(all.json?["total_count"] as? Int, 4, all.summary)
        XCTAssertEqual(try post("/users", ["username": "ada", "email": "ada@example.com"]).status, 200, "e-mail reusable after delete")

        // The row is still there (soft delete), and every change is in the audit log.
        let audit = try kernelctl(kernel, ["log", "read", "users/audit", "--json"])
        let records = ((try? JSONSerialization.jsonObject(with: Data(audit.stdout.utf8))) as? [String: Any])?["records"] as? [Any]
        XCTAssertEqual(records?.count, 8, audit.stdout) // 6 creates, 1 update, 1 delete
    }

    /// Reloading the users plugin keeps its data and does not re-run migrations.
    func checkUsersSurviveReload() throws {
        let kernel = try startStorageKernel(plugins: ["libusers.so"])
        let created = try HTTP.call(port: kernel.httpPort, "users.create", #"{"username":"kept","email":"kept@example.com"}"#)
        XCTAssertEqual(created.status, 200, created.summary)
        let reload = try kernelctl(kernel, ["reload", "users"])
        XCTAssertEqual(reload.status, 0, reload.stderr)
        let found = try HTTP.call(port: kernel.httpPort, "users.search", #"{"query":"kept"}"#)
        XCTAssertEqual(found.json?["total_count"] as? Int, 1, found.summary)
    }
}

final class UsersSampleSQLiteTests: StorageTestCase {
    override class var backend: String { "sqlite" }
    func testUsersServiceOverHTTP() throws { try checkUsersSample() }
    func testUsersSurviveReload() throws { try checkUsersSurviveReload() }
}

final class UsersSamplePostgresTests: StorageTestCase {
    override class var backend: String { "postgres" }
    func testUsersServiceOverHTTP() throws { try checkUsersSample() }
    func testUsersSurviveReload() throws { try checkUsersSurviveReload() }
}
