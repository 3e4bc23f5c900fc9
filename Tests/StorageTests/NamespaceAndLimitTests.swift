import StorageEngine
import XCTest

final class NamespaceAndLimitTests: XCTestCase {
    func testCallerReachesItsOwnAndSharedNamespacesOnly() throws {
        XCTAssertEqual(try Namespaces.resolve(caller: "users", requested: nil), "users")
        XCTAssertEqual(try Namespaces.resolve(caller: "users", requested: ""), "users")
        XCTAssertEqual(try Namespaces.resolve(caller: "users", requested: "users"), "users")
        XCTAssertEqual(try Namespaces.resolve(caller: "users", requested: "shared.sessions"), "shared.sessions")
        XCTAssertThrowsError(try Namespaces.resolve(caller: "users", requested: "billing")) { error in
            XCTAssertEqual((error as? StorageError)?.code, .notFound)
        }
        XCTAssertThrowsError(try Namespaces.resolve(caller: "users", requested: "shared.")) { error in
            XCTAssertEqual((error as? StorageError)?.code, .invalidArgument)
        }
        XCTAssertThrowsError(try Namespaces.resolve(caller: "users", requested: "shared.Upper")) { error in
            XCTAssertEqual((error as? StorageError)?.code, .invalidArgument)
        }
    }

    func testLimitsAreTheDocumentedOnes() throws {
        XCTAssertNoThrow(try Limits.checkKey([UInt8](repeating: 1, count: 1024)))
        XCTAssertThrowsError(try Limits.checkKey([UInt8](repeating: 1, count: 1025))) { error in
            XCTAssertEqual((error as? StorageError)?.code, .tooLarge)
        }
        XCTAssertThrowsError(try Limits.checkKey([])) { XCTAssertEqual(($0 as? StorageError)?.code, .invalidArgument) }
        XCTAssertNoThrow(try Limits.checkValue([UInt8](repeating: 1, count: 1 << 20)))
        XCTAssertThrowsError(try Limits.checkValue([UInt8](repeating: 1, count: (1 << 20) + 1)))
        XCTAssertEqual(try Limits.pageSize(5000), 1000, "large pages are clamped")
        XCTAssertThrowsError(try Limits.pageSize(0))
        XCTAssertNoThrow(try Limits.checkStream("orders.v2_eu-1"))
        XCTAssertThrowsError(try Limits.checkStream("a/b"))
    }
}
