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

    /// PostgreSQL down at start: storage starts anyway, calls fail as
    /// unavailable with the reason, `kernelctl storage` says it is
    /// connecting; once the server is up, storage serves without a restart.
    func testStorageStartsWithoutItsDatabaseAndServesOnceItIsUp() throws {
        let settings = try backendSettings()
        let server = try postgres
        try server.stop(mode: "immediate")
        var restarted = false
        defer { if !restarted { try? server.start() } }

        let kernel = try startKernel(plugins: ["libhttp.so", "libhello.so", "libstorage.so", "libstorageprobe.so"],
                                     settings: settings)
        let down = try call(kernel, "probe.kv.put", ["key": "k", "value": "1"])
        XCTAssertEqual(down.status, 503, down.summary)
        XCTAssertEqual(down.errorCode, "unavailable", down.summary)
        XCTAssertTrue(down.text.contains("not connected"), down.summary)
        let waiting = try kernelctl(kernel, ["storage", "--json"])
        let waitingState = (try? JSONSerialization.jsonObject(with: Data(waiting.stdout.utf8)) as? [String: Any])?["state"] as? String
        XCTAssertTrue(waitingState?.hasPrefix("connecting") == true, waiting.stdout + waiting.stderr)
        XCTAssertTrue(try kernelctl(kernel, ["storage"]).stdout.contains("connecting"))
        assertHelloAnswers(kernel)

        try server.start()
        restarted = true
        var last = ""
        let served = waitUntil(timeout: 30, interval: 0.25) {
            guard let response = try? self.call(kernel, "probe.kv.put", ["key": "k", "value": "1"]) else { return false }
            last = response.summary
            return response.status == 200
        }
        XCTAssertTrue(served, "storage never connected: \(last)")
        XCTAssertEqual(try ok(kernel, "probe.kv.get", ["key": "k"])["value"] as? String, "1")
        let ready = try kernelctl(kernel, ["storage", "--json"])
        XCTAssertEqual((try? JSONSerialization.jsonObject(with: Data(ready.stdout.utf8)) as? [String: Any])?["state"] as? String,
                       "ready", ready.stdout)
    }

    /// Each plugin's SQL logs in as a role of its own: another plugin's
    /// tables, the storage's own tables and other roles are out of reach,
    /// whatever the SQL says; its own tables and migrations work.
    func testAPluginCannotReachAnotherPluginsTables() throws {
        let kernel = try startStorageKernel(plugins: ["libusers.so"])
        let created = try HTTP.request(port: kernel.httpPort, "POST", "/users", headers: [("Content-Type", "application/json")],
                                       body: Array(#"{"username":"ada","email":"ada@example.com"}"#.utf8))
        XCTAssertEqual(created.status, 200, created.summary) // the users plugin's migrations ran as its own role

        try ok(kernel, "probe.sql", ["sql": "CREATE TABLE mine (x INT)", "params": []])
        try ok(kernel, "probe.sql", ["sql": "INSERT INTO mine VALUES (1)", "params": []])
        XCTAssertEqual(((try ok(kernel, "probe.sql", ["sql": "SELECT count(*) FROM mine", "params": []])["rows"] as? [[Any]])?
            .first?.first as? NSNumber)?.intValue, 1)

        let attempts: [(String, [String])] = [
            ("a schema-qualified name", ["SELECT * FROM plugin_users.users"]),
            ("search_path", ["SET search_path TO plugin_users", "SELECT * FROM users"]),
            ("another role", ["SET ROLE postgres"]),
            ("the storage's tables", ["SELECT * FROM kn_storage.kv"]),
            ("the role passwords", ["SELECT * FROM kn_storage.roles"]),
            ("a write into another schema", ["DELETE FROM plugin_users.users"]),
        ]
        for (what, statements) in attempts {
            let response = try call(kernel, "probe.sql.tx", ["statements": statements.map { ["sql": $0] }])
            XCTAssertNotEqual(response.status, 200, "\(what) was allowed: \(response.summary)")
            let text = response.text.lowercased()
            XCTAssertTrue(text.contains("permission denied") || text.contains("does not exist"), "\(what): \(response.summary)")
        }
        // The user is still there: nothing reached it.
        let listed = try HTTP.request(port: kernel.httpPort, "GET", "/users?query=ada")
        XCTAssertEqual((listed.json?["users"] as? [[String: Any]])?.count, 1, listed.summary)
        // The operator view (the storage's own role) still sees everything.
        let view = try kernelctl(kernel, ["storage"])
        XCTAssertTrue(view.stdout.contains("storageprobe, users"), view.stdout + view.stderr)
    }

    /// The storage's role needs CREATEROLE, not superuser: a database owner
    /// with CREATEROLE gives each plugin its role, and isolation holds.
    func testARoleWithCreateRoleButNotSuperuserIsEnough() throws {
        let server = try postgres
        let suffix = UUID().uuidString.prefix(8).lowercased()
        let owner = "store_\(suffix)"
        let database = "cr_\(suffix)"
        try server.execute("CREATE ROLE \(owner) LOGIN CREATEROLE NOSUPERUSER")
        try server.execute("CREATE DATABASE \(database) OWNER \(owner)")
        let kernel = try startKernel(
            plugins: ["libhttp.so", "libhello.so", "libstorage.so", "libstorageprobe.so", "libusers.so"],
            settings: ["storage.backend=postgres", "storage.url=\(server.url(database: database, user: owner))", "storage.timeout_ms=3000"])
        try ok(kernel, "probe.sql", ["sql": "CREATE TABLE mine (x INT)", "params": []])
        let created = try HTTP.request(port: kernel.httpPort, "POST", "/users", headers: [("Content-Type", "application/json")],
                                       body: Array(#"{"username":"bob","email":"bob@example.com"}"#.utf8))
        XCTAssertEqual(created.status, 200, created.summary)
        let refused = try call(kernel, "probe.sql", ["sql": "SELECT * FROM plugin_users.users", "params": []])
        XCTAssertNotEqual(refused.status, 200, refused.summary)
        XCTAssertTrue(refused.text.lowercased().contains("permission denied"), refused.summary)
    }

    /// A plugin whose init fails as unavailable (the users sample's
    /// migrations, while PostgreSQL is down) is tried again by the kernel,
    /// and loads once the database is up.
    func testADependentRefusedAsUnavailableIsLoadedOnceTheDatabaseIsUp() throws {
        let settings = try backendSettings()
        let server = try postgres
        try server.stop(mode: "immediate")
        var restarted = false
        defer { if !restarted { try? server.start() } }
        let kernel = try startKernel(plugins: ["libhttp.so", "libhello.so", "libstorage.so", "libusers.so"],
                                     settings: settings, waitingFor: ["http", "storage"])
        let refused = waitUntil(timeout: 10) { (try? AdminClient(path: kernel.socketPath, timeout: 5).result("list"))?
            .rejection(forFile: "libusers.so") != nil }
        XCTAssertTrue(refused, kernel.log())
        try server.start()
        restarted = true
        let loaded = waitUntil(timeout: 40, interval: 0.25) {
            (try? AdminClient(path: kernel.socketPath, timeout: 5).result("list"))?.plugin(named: "users") != nil
        }
        XCTAssertTrue(loaded, "users was not loaded again: \(kernel.log())")
        let created = try HTTP.request(port: kernel.httpPort, "POST", "/users", headers: [("Content-Type", "application/json")],
                                       body: Array(#"{"username":"cleo","email":"cleo@example.com"}"#.utf8))
        XCTAssertEqual(created.status, 200, created.summary)
    }
}
