import XCTest

/// The same storage suite on PostgreSQL (a throwaway server per class).
final class PostgresStorageTests: StorageTestCase {
    override class var backend: String { "postgres" }

    func testKeyValueBasics() throws { try checkKeyValueBasics() }
    func testScanPagination() throws { try checkScanPagination() }
    func testTimeToLive() throws { try checkTimeToLive() }
    func testCompareAndSet() throws { try checkCompareAndSet() }
    func testConcurrentCompareAndSetHasOneWinnerPerVersion() throws { try checkConcurrentCompareAndSet() }
    func testNamespaces() throws { try checkNamespaces() }
    func testLimitsAreTypedErrors() throws { try checkLimits() }
    func testLogAppendAndRead() throws { try checkLogAppendAndRead() }
    func testLogTrimAndGap() throws { try checkLogTrimAndGap() }
    func testSQLTypedValuesAndErrors() throws { try checkSQLTypedValues() }
    func testMigrationsAppliedOnce() throws { try checkMigrationsAppliedOnce() }
    func testTransactionRollbackWhenCallerFails() throws { try checkTransactionRollbackWhenCallerFails() }
    func testAbandonedTransactionIsRolledBack() throws { try checkAbandonedTransactionIsRolledBack() }
    func testOperatorViewThroughKernelctl() throws { try checkStatusThroughKernelctl() }
    func testAcknowledgedWritesSurviveKill9() throws { try checkAcknowledgedWritesSurviveKill() }
    func testReloadOfStorageKeepsDependentsWorking() throws { try checkReloadOfStorageKeepsDependentsWorking() }

    /// The server goes away: calls fail as unavailable within the timeout,
    /// the kernel keeps serving; it comes back: the pool reconnects.
    func testBackendDownThenBackIsReconnected() throws {
        let kernel = try startStorageKernel()
        try ok(kernel, "probe.kv.put", ["key": "before", "value": "1"])
        let server = try postgres
        try server.stop(mode: "immediate")
        var restarted = false
        defer { if !restarted { try? server.start() } }

        let down = try call(kernel, "probe.kv.get", ["key": "before"])
        XCTAssertEqual(down.status, 503, down.summary)
        XCTAssertEqual(down.errorCode, "unavailable", down.summary)
        let sql = try call(kernel, "probe.sql", ["sql": "SELECT 1", "params": []])
        XCTAssertEqual(sql.errorCode, "unavailable", sql.summary)
        assertHelloAnswers(kernel)

        try server.start()
        restarted = true
        var last = ""
        let back = waitUntil(timeout: 30, interval: 0.25) {
            guard let response = try? self.call(kernel, "probe.kv.get", ["key": "before"]) else { return false }
            last = response.summary
            return response.json?["value"] as? String == "1"
        }
        XCTAssertTrue(back, "not reconnected within 30 s: \(last)")
        try ok(kernel, "probe.kv.put", ["key": "after", "value": "2"])
        try ok(kernel, "probe.sql", ["sql": "SELECT 1", "params": []])
    }

    /// A storage plugin pointed at no server refuses to load, with the reason.
    func testUnreachableServerRefusesTheStoragePlugin() throws {
        let port = try freeTCPPort()
        let kernel = try KernelProcess(plugins: ["libhttp.so", "libstorage.so"],
                                       settings: ["storage.backend=postgres", "storage.url=postgres://postgres@127.0.0.1:\(port)/x?sslmode=disable",
                                                  "storage.timeout_ms=1500"])
        defer {
            kernel.stop()
            kernel.removeDirectory()
        }
        try kernel.start(waitingFor: ["http"])
        let line = kernel.waitForLogLine(containing: ["libstorage.so", "unavailable"], timeout: 20)
        XCTAssertNotNil(line, kernel.log())
    }
}
