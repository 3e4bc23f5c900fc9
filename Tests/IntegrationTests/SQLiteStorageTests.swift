import XCTest

/// The storage suite on the embedded SQLite backend (the default).
final class SQLiteStorageTests: StorageTestCase {
    override class var backend: String { "sqlite" }

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

    /// The database is a file under the storage plugin's data directory, in WAL mode.
    func testDatabaseFileIsCreatedInWALMode() throws {
        let kernel = try startStorageKernel()
        try ok(kernel, "probe.kv.put", ["key": "k", "value": "v"])
        let path = kernel.dataDirectory + "/plugins/storage/storage.sqlite"
        XCTAssertTrue(FileManager.default.fileExists(atPath: path), path)
        XCTAssertTrue(FileManager.default.fileExists(atPath: path + "-wal"), "no WAL file next to \(path)")
    }
}
