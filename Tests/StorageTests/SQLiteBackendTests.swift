import Foundation
import StorageEngine
import XCTest

/// The SQLite backend and the service layer directly, without a kernel.
final class SQLiteBackendTests: XCTestCase {
    private var directory = ""

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "storage-unit-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: directory)
    }

    private func service(timeout: Duration = .seconds(30)) async throws -> StorageService {
        StorageService(backend: try await SQLiteBackend.open(directory: directory), transactionTimeout: timeout)
    }

    func testVersionsSurviveReopenAndAreNeverReused() async throws {
        let first = try await service()
        let written = try await first.kvPut(caller: "p", namespace: nil, key: Array("k".utf8), value: [1], ttlMilliseconds: 0)
        _ = try await first.kvDelete(caller: "p", namespace: nil, key: Array("k".utf8))
        await first.shutdown()
        let second = try await service()
        let again = try await second.kvPut(caller: "p", namespace: nil, key: Array("k".utf8), value: [2], ttlMilliseconds: 0)
        XCTAssertGreaterThan(again.version, written.version)
        await second.shutdown()
    }

    func testOneFailingWriteDoesNotFailItsBatch() async throws {
        let storage = try await service()
        let key = Array("contended".utf8)
        _ = try await storage.kvPut(caller: "p", namespace: nil, key: key, value: [0], ttlMilliseconds: 0)
        // Many writes queued together: the stale compare-and-sets fail alone.
        let outcomes = await withTaskGroup(of: Bool.self) { group in
            for index in 0..<50 {
                group.addTask {
                    if index % 2 == 0 {
                        return (try? await storage.kvCompareAndSet(caller: "p", namespace: nil, key: key, expectedVersion: 999_999,
                                                                   value: [1], ttlMilliseconds: 0)) != nil
                    }
                    return (try? await storage.kvPut(caller: "p", namespace: nil, key: Array("k\(index)".utf8), value: [1],
                                                     ttlMilliseconds: 0)) != nil
                }
            }
            return await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        XCTAssertEqual(outcomes.filter { $0 }.count, 25)
        let page = try await storage.kvScan(caller: "p", namespace: nil, prefix: Array("k".utf8), cursor: [], limit: 1000)
        XCTAssertEqual(page.entries.count, 25)
        await storage.shutdown()
    }

    func testTransactionOfAnotherCallerIsClosedToIt() async throws {
        let storage = try await service()
        let handle = try await storage.sqlBegin(caller: "a")
        do {
            _ = try await storage.sqlRun(caller: "b", transaction: handle, sql: "SELECT 1", parameters: [])
            XCTFail("plugin b used plugin a's transaction")
        } catch let error as StorageError {
            XCTAssertEqual(error.code, .invalidArgument)
        }
        try await storage.sqlRollback(caller: "a", transaction: handle)
        await storage.shutdown()
    }

    func testParametersBindByNumberNotByPosition() async throws {
        let storage = try await service()
        _ = try await storage.sqlRun(caller: "p", transaction: 0, sql: "CREATE TABLE t (a TEXT, b INTEGER)", parameters: [])
        _ = try await storage.sqlRun(caller: "p", transaction: 0, sql: "INSERT INTO t (b, a) VALUES ($2, $1)",
                                     parameters: [.text("x"), .integer(7)])
        let rows = try await storage.sqlRun(caller: "p", transaction: 0, sql: "SELECT a, b FROM t WHERE b = $1 AND a = $1 OR b = $2",
                                            parameters: [.text("nope"), .integer(7)])
        XCTAssertEqual(rows.rows.first, [.text("x"), .integer(7)])
        await storage.shutdown()
    }

    func testPluginSQLCannotAttachOtherDatabases() async throws {
        let storage = try await service()
        do {
            _ = try await storage.sqlRun(caller: "p", transaction: 0,
                                         sql: "ATTACH DATABASE '\(directory)/storage.sqlite' AS store", parameters: [])
            XCTFail("ATTACH reached the store's own database")
        } catch let error as StorageError {
            XCTAssertEqual(error.code, .invalidArgument, error.message)
        }
        await storage.shutdown()
    }
}
