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

    /// `storage.ttl_sweep_ms` sets how often expired keys are deleted from
    /// the file (reads ignore them at once; the sweep frees the rows).
    func testExpiredKeysAreSweptAtTheConfiguredPeriod() throws {
        let kernel = try startStorageKernel(settings: ["storage.ttl_sweep_ms=100"])
        // Long enough to be counted first on a busy machine; short of the default 5 s period.
        try ok(kernel, "probe.kv.put", ["key": "short", "value": "v", "ttl_ms": 1_500])
        try ok(kernel, "probe.kv.put", ["key": "kept", "value": "v"])
        let path = kernel.dataDirectory + "/plugins/storage/storage.sqlite"
        func rows() throws -> Int {
            // Read the file as another SQLite client would (WAL lets it read beside the kernel).
            let result = try runProgram("/usr/bin/env", ["python3", "-c", """
                import sqlite3, sys
                db = sqlite3.connect("file:" + sys.argv[1] + "?mode=ro", uri=True)
                print(db.execute("SELECT count(*) FROM kn_kv WHERE ns = 'storageprobe'").fetchone()[0])
                """, path], workDirectory: kernel.root)
            guard result.status == 0, let count = Int(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) else {
                throw SetupError("cannot count rows: \(result.stderr)")
            }
            return count
        }
        XCTAssertEqual(try rows(), 2)
        // The default period is 5 s: within 3 s only the configured one can have run.
        XCTAssertTrue(try waitUntil(timeout: 3, interval: 0.1) { try rows() == 1 }, "the expired row is still in the file")
    }
}
