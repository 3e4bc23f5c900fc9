import Foundation
import XCTest
@testable import StorageEngine

/// `$1..$n` in order become `?`; anything else keeps its text.
final class PositionalParametersTests: XCTestCase {
    func testParametersInOrderBecomePositional() {
        XCTAssertEqual(PositionalParameters.rewrite("INSERT INTO t VALUES ($1, $2), ($3, $4)"),
                       "INSERT INTO t VALUES (?, ?), (?, ?)")
        XCTAssertEqual(PositionalParameters.rewrite("SELECT '$9', \"a$b\" FROM t WHERE x = $1 -- $7\n AND y = $2 /* $3 */"),
                       "SELECT '$9', \"a$b\" FROM t WHERE x = ? -- $7\n AND y = ? /* $3 */")
        XCTAssertEqual(PositionalParameters.rewrite("SELECT 'it''s $2' WHERE a = $1"), "SELECT 'it''s $2' WHERE a = ?")
    }

    func testAnythingElseKeepsItsText() {
        XCTAssertNil(PositionalParameters.rewrite("SELECT 1"))
        XCTAssertNil(PositionalParameters.rewrite("UPDATE t SET a = $2 WHERE b = $1"), "out of order")
        XCTAssertNil(PositionalParameters.rewrite("UPDATE t SET a = $1 WHERE b = $1"), "repeated")
        XCTAssertNil(PositionalParameters.rewrite("SELECT $1, ?"), "mixed styles")
        XCTAssertNil(PositionalParameters.rewrite("SELECT a$1 FROM t WHERE x = $1"), "a name with a dollar")
        XCTAssertNil(PositionalParameters.rewrite("SELECT $x"), "a named parameter")
        XCTAssertNil(PositionalParameters.rewrite("SELECT 'unterminated $1"), "no parameter outside the string")
    }

    /// A multi-row insert of 2000 rows × 3 parameters binds every value where it belongs.
    func testLargeInsertKeepsEveryValueInPlace() async throws {
        let directory = NSTemporaryDirectory() + "positional-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let backend = try await SQLiteBackend.open(directory: directory)
        _ = try await backend.sqlRun(space: "p", sql: "CREATE TABLE t (a INTEGER, b TEXT, c INTEGER)", parameters: [])
        var groups: [String] = []
        var values: [SQLValue] = []
        for row in 0..<2000 {
            groups.append("($\(row * 3 + 1), $\(row * 3 + 2), $\(row * 3 + 3))")
            values += [.integer(Int64(row)), .text("r\(row)"), .integer(Int64(row * 2))]
        }
        _ = try await backend.sqlRun(space: "p", sql: "INSERT INTO t VALUES " + groups.joined(separator: ","), parameters: values)
        let bad = try await backend.sqlRun(space: "p", sql: "SELECT COUNT(*) FROM t WHERE b <> 'r' || a OR c <> a * 2", parameters: [])
        XCTAssertEqual(bad.rows.first?.first, .integer(0))
        let all = try await backend.sqlRun(space: "p", sql: "SELECT COUNT(*) FROM t", parameters: [])
        XCTAssertEqual(all.rows.first?.first, .integer(2000))
        await backend.shutdown()
    }
}
