import Foundation
import XCTest

/// The storage suite, run against each backend by SQLiteStorageTests and
/// PostgresStorageTests: every operation goes HTTP → probe plugin → SDK →
/// the C service table → the storage plugin → the database.
extension StorageTestCase {
    func checkKeyValueBasics() throws {
        let kernel = try startStorageKernel()
        let first = try ok(kernel, "probe.kv.put", ["key": "user:1", "value": "ada"])
        let version1 = try XCTUnwrap(first.int("version"))
        let read = try ok(kernel, "probe.kv.get", ["key": "user:1"])
        XCTAssertEqual(read["value"] as? String, "ada")
        XCTAssertEqual(read.int("version"), version1)

        let second = try ok(kernel, "probe.kv.put", ["key": "user:1", "value": "grace"])
        XCTAssertGreaterThan(try XCTUnwrap(second.int("version")), version1, "every write gets a higher version")
        XCTAssertEqual(try ok(kernel, "probe.kv.get", ["key": "user:1"])["value"] as? String, "grace")

        XCTAssertEqual(try ok(kernel, "probe.kv.delete", ["key": "user:1"])["deleted"] as? Bool, true)
        XCTAssertEqual(try ok(kernel, "probe.kv.get", ["key": "user:1"])["found"] as? Bool, false)
        XCTAssertEqual(try ok(kernel, "probe.kv.delete", ["key": "user:1"])["deleted"] as? Bool, false)

        // A value of exactly the documented limit (1 MiB) is accepted.
        try ok(kernel, "probe.kv.put", ["key": "big", "size": 1_048_576])
        XCTAssertEqual((try ok(kernel, "probe.kv.get", ["key": "big"])["value"] as? String)?.utf8.count, 1_048_576)
    }

    func checkScanPagination() throws {
        let kernel = try startStorageKernel()
        for index in 0..<25 { try ok(kernel, "probe.kv.put", ["key": String(format: "a/%02d", index), "value": "\(index)"]) }
        for index in 0..<3 { try ok(kernel, "probe.kv.put", ["key": "b/\(index)", "value": "x"]) }
        var keys: [String] = []
        var cursor: String?
        var pages = 0
        repeat {
            var body: [String: Any] = ["prefix": "a/", "limit": 10]
            if let cursor { body["cursor"] = cursor }
            let page = try ok(kernel, "probe.kv.scan", body)
            keys += page.strings("keys")
            cursor = page["next_cursor"] as? String
            pages += 1
        } while cursor != nil && pages < 10
        XCTAssertEqual(pages, 3)
        XCTAssertEqual(keys, (0..<25).map { String(format: "a/%02d", $0) }, "every key once, in order, no other prefix")
        XCTAssertEqual(try ok(kernel, "probe.kv.scan", ["prefix": "", "limit": 1000]).strings("keys").count, 28)
        try fails(kernel, "probe.kv.scan", ["prefix": "a/", "limit": 0], code: "invalid_argument", status: 400)
    }

    func checkTimeToLive() throws {
        let kernel = try startStorageKernel()
        let written = try ok(kernel, "probe.kv.put", ["key": "session", "value": "s", "ttl_ms": 400])
        XCTAssertNotNil(written["expires_at_ms"], "\(written)")
        try ok(kernel, "probe.kv.put", ["key": "forever", "value": "f"])
        XCTAssertEqual(try ok(kernel, "probe.kv.get", ["key": "session"])["found"] as? Bool, true)
        let expired = waitUntil(timeout: 10) {
            (try? self.ok(kernel, "probe.kv.get", ["key": "session"])["found"] as? Bool) == false
        }
        XCTAssertTrue(expired, "a key with a 400 ms TTL is still readable after 10 s")
        XCTAssertEqual(try ok(kernel, "probe.kv.scan", ["prefix": ""]).strings("keys"), ["forever"])
        // An expired key is absent for compare-and-set too: version 0 creates it again.
        try ok(kernel, "probe.kv.cas", ["key": "session", "value": "again", "expected_version": 0])
    }

    func checkCompareAndSet() throws {
        let kernel = try startStorageKernel()
        let created = try ok(kernel, "probe.kv.cas", ["key": "lock", "value": "a", "expected_version": 0])
        let version = try XCTUnwrap(created.int("version"))
        try fails(kernel, "probe.kv.cas", ["key": "lock", "value": "b", "expected_version": 0], code: "conflict", status: 409)
        let next = try ok(kernel, "probe.kv.cas", ["key": "lock", "value": "c", "expected_version": version])
        try fails(kernel, "probe.kv.cas", ["key": "lock", "value": "d", "expected_version": version], code: "conflict", status: 409)
        XCTAssertEqual(try ok(kernel, "probe.kv.get", ["key": "lock"])["value"] as? String, "c")
        // A deleted and re-created key never reuses a version.
        try ok(kernel, "probe.kv.delete", ["key": "lock"])
        let recreated = try ok(kernel, "probe.kv.put", ["key": "lock", "value": "e"])
        XCTAssertGreaterThan(try XCTUnwrap(recreated.int("version")), try XCTUnwrap(next.int("version")))
    }

    /// Many tasks inside the plugin, and many HTTP clients at once.
    func checkConcurrentCompareAndSet() throws {
        let kernel = try startStorageKernel()
        let race = try ok(kernel, "probe.kv.race", ["key": "counter", "tasks": 16, "rounds": 8])
        XCTAssertEqual(race.int("wins"), 128, "\(race)")
        XCTAssertEqual(race.int("final_value"), 128, "no increment lost: \(race)")
        XCTAssertEqual((race["versions_won_twice"] as? [Any])?.count, 0, "one winner per version: \(race)")

        // 24 clients race for the same version over HTTP: exactly one wins.
        let base = try XCTUnwrap(try ok(kernel, "probe.kv.put", ["key": "slot", "value": "free"]).int("version"))
        let statuses = Statuses()
        let port = kernel.httpPort
        DispatchQueue.concurrentPerform(iterations: 24) { index in
            let response = try? HTTP.call(port: port, "probe.kv.cas",
                                          #"{"key":"slot","value":"taken by \#(index)","expected_version":\#(base)}"#)
            statuses.add(response?.status ?? 0)
        }
        XCTAssertEqual(statuses.all.filter { $0 == 200 }.count, 1, "statuses: \(statuses.all)")
        XCTAssertEqual(statuses.all.filter { $0 == 409 }.count, 23, "statuses: \(statuses.all)")
    }

    func checkNamespaces() throws {
        let kernel = try startStorageKernel()
        try ok(kernel, "probe.kv.put", ["namespace": "shared.config", "key": "mode", "value": "blue"])
        XCTAssertEqual(try ok(kernel, "probe.kv.get", ["namespace": "shared.config", "key": "mode"])["value"] as? String, "blue")
        // The probe's own namespace does not see the shared key.
        XCTAssertEqual(try ok(kernel, "probe.kv.get", ["key": "mode"])["found"] as? Bool, false)
        // Another plugin's namespace is unknown to the caller.
        try fails(kernel, "probe.kv.get", ["namespace": "hello", "key": "mode"], code: "not_found", status: 404)
        try fails(kernel, "probe.log.append", ["namespace": "users", "stream": "audit", "payload": "x"], code: "not_found", status: 404)
        try fails(kernel, "probe.kv.put", ["namespace": "shared.BAD NAME", "key": "k", "value": "v"], code: "invalid_argument", status: 400)
        // The operator endpoints are not reachable over HTTP.
        try fails(kernel, "storage.kv.get", ["namespace": "shared.config", "key": "mode"], code: "forbidden", status: 403)
        assertHelloAnswers(kernel)
    }

    func checkLimits() throws {
        let kernel = try startStorageKernel()
        try fails(kernel, "probe.kv.put", ["key": String(repeating: "k", count: 1025), "value": "v"], code: "too_large", status: 413)
        try fails(kernel, "probe.kv.put", ["key": "big", "size": 1_048_577], code: "too_large", status: 413)
        try fails(kernel, "probe.kv.put", ["key": "", "value": "v"], code: "invalid_argument", status: 400)
        try fails(kernel, "probe.log.append", ["stream": "s", "size": 1_048_577], code: "too_large", status: 413)
        try fails(kernel, "probe.log.append", ["stream": "no spaces", "payload": "x"], code: "invalid_argument", status: 400)
        assertHelloAnswers(kernel)
        XCTAssertEqual(try ok(kernel, "probe.kv.put", ["key": "after", "value": "fine"])["found"] as? Bool, true)
    }

    func checkLogAppendAndRead() throws {
        let kernel = try startStorageKernel()
        let appended = try ok(kernel, "probe.log.append", ["stream": "orders", "payload": "o", "count": 10])
        XCTAssertEqual(appended["offsets"] as? [Int], Array(0..<10))
        let batch = try ok(kernel, "probe.log.read", ["stream": "orders", "from": 3, "limit": 4])
        let records = batch["records"] as? [[String: Any]] ?? []
        XCTAssertEqual(records.compactMap { $0.int("offset") }, [3, 4, 5, 6])
        XCTAssertEqual(records.compactMap { $0["payload"] as? String }, ["o3", "o4", "o5", "o6"])
        XCTAssertEqual(batch["gap"] as? Bool, false)
        let end = try ok(kernel, "probe.log.read", ["stream": "orders", "from": 10])
        XCTAssertEqual((end["records"] as? [Any])?.count, 0)
        XCTAssertEqual(end.int("next_offset"), 10)
        let unknown = try ok(kernel, "probe.log.read", ["stream": "never-written", "from": 0])
        XCTAssertEqual(unknown.int("next_offset"), 0)
        XCTAssertEqual(unknown["gap"] as? Bool, false)
        // Concurrent appenders get distinct, dense offsets.
        let port = kernel.httpPort
        DispatchQueue.concurrentPerform(iterations: 8) { _ in
            _ = try? HTTP.call(port: port, "probe.log.append", #"{"stream":"dense","payload":"p","count":10}"#)
        }
        let dense = try ok(kernel, "probe.log.read", ["stream": "dense", "from": 0, "limit": 1000])
        XCTAssertEqual((dense["records"] as? [[String: Any]] ?? []).compactMap { $0.int("offset") }, Array(0..<80))
    }

    func checkLogTrimAndGap() throws {
        let kernel = try startStorageKernel()
        try ok(kernel, "probe.log.append", ["stream": "events", "payload": "e", "count": 10])
        let trimmed = try ok(kernel, "probe.log.trim", ["stream": "events", "keep_last": 4])
        XCTAssertEqual(trimmed.int("first_offset"), 6)
        XCTAssertEqual(trimmed.int("removed"), 6)
        let behind = try ok(kernel, "probe.log.read", ["stream": "events", "from": 2])
        XCTAssertEqual(behind["gap"] as? Bool, true, "a reader behind retention learns it: \(behind)")
        XCTAssertEqual(behind.int("first_offset"), 6)
        XCTAssertEqual((behind["records"] as? [[String: Any]] ?? []).first?.int("offset"), 6)
        let current = try ok(kernel, "probe.log.read", ["stream": "events", "from": 6])
        XCTAssertEqual(current["gap"] as? Bool, false)
        XCTAssertEqual((current["records"] as? [Any])?.count, 4)

        // By age: everything appended before now goes; offsets continue.
        let byAge = try ok(kernel, "probe.log.trim", ["stream": "events", "older_than_ms": 0])
        XCTAssertEqual(byAge.int("first_offset"), 10)
        XCTAssertEqual(try ok(kernel, "probe.log.append", ["stream": "events", "payload": "late"])["offsets"] as? [Int], [10])
        let afterAge = try ok(kernel, "probe.log.read", ["stream": "events", "from": 6])
        XCTAssertEqual(afterAge["gap"] as? Bool, true)
        XCTAssertEqual((afterAge["records"] as? [[String: Any]] ?? []).compactMap { $0.int("offset") }, [10])
    }

    func checkSQLTypedValues() throws {
        let kernel = try startStorageKernel()
        try ok(kernel, "probe.sql.migrate", ["migrations": [
            ["version": 1, "sql": "CREATE TABLE items (id BIGINT PRIMARY KEY, name TEXT NOT NULL UNIQUE, price DOUBLE PRECISION, data BYTEA, note TEXT)"
                .replacingOccurrences(of: "BYTEA", with: Self.backend == "postgres" ? "BYTEA" : "BLOB")],
        ]])
        let insert = try ok(kernel, "probe.sql", [
            "sql": "INSERT INTO items (id, name, price, data, note) VALUES ($1, $2, $3, $4, $5)",
            "params": [1, "apple", 1.25, ["blob": Data([0, 1, 255]).base64EncodedString()], NSNull()],
        ])
        XCTAssertEqual(insert.int("rows_affected"), 1)
        try ok(kernel, "probe.sql", ["sql": "INSERT INTO items (id, name, price) VALUES ($1, $2, $3)", "params": [2, "pear", 2.5]])
        let rows = try ok(kernel, "probe.sql", ["sql": "SELECT id, name, price, data, note FROM items WHERE price > $1 ORDER BY id",
                                                "params": [1.0]])
        XCTAssertEqual(rows.strings("columns"), ["id", "name", "price", "data", "note"])
        let values = rows["rows"] as? [[Any]] ?? []
        XCTAssertEqual(values.count, 2)
        XCTAssertEqual((values.first?[0] as? NSNumber)?.intValue, 1)
        XCTAssertEqual(values.first?[1] as? String, "apple")
        XCTAssertEqual((values.first?[2] as? NSNumber)?.doubleValue, 1.25)
        XCTAssertEqual((values.first?[3] as? [String: String])?["blob"], Data([0, 1, 255]).base64EncodedString())
        XCTAssertTrue(values.first?[4] is NSNull, "\(values)")
        let update = try ok(kernel, "probe.sql", ["sql": "UPDATE items SET price = price * 2", "params": []])
        XCTAssertEqual(update.int("rows_affected"), 2)

        try fails(kernel, "probe.sql", ["sql": "SELEC nonsense FROM", "params": []], code: "invalid_argument", status: 400)
        try fails(kernel, "probe.sql", ["sql": "SELECT * FROM no_such_table", "params": []], code: "invalid_argument", status: 400)
        try fails(kernel, "probe.sql", ["sql": "INSERT INTO items (id, name) VALUES ($1, $2)", "params": [3, "apple"]],
                  code: "conflict", status: 409)
        assertHelloAnswers(kernel)
    }

    func checkMigrationsAppliedOnce() throws {
        let kernel = try startStorageKernel()
        let first: [[String: Any]] = [
            ["version": 1, "sql": "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)"],
            ["version": 2, "sql": "INSERT INTO notes (id, body) VALUES (1, 'seeded')"],
        ]
        try ok(kernel, "probe.sql.migrate", ["migrations": first])
        // Again, plus a third: 1 and 2 are not re-run (CREATE TABLE would fail, the row would double).
        try ok(kernel, "probe.sql.migrate", ["migrations": first + [["version": 3, "sql": "ALTER TABLE notes ADD COLUMN tag TEXT"]]])
        let count = try ok(kernel, "probe.sql", ["sql": "SELECT count(*) AS n FROM notes", "params": []])
        XCTAssertEqual(((count["rows"] as? [[Any]])?.first?.first as? NSNumber)?.intValue, 1)
        let applied = try ok(kernel, "probe.sql", ["sql": "SELECT version FROM _kn_migrations ORDER BY version", "params": []])
        XCTAssertEqual((applied["rows"] as? [[Any]] ?? []).compactMap { ($0.first as? NSNumber)?.intValue }, [1, 2, 3])
        // A failing migration names its version and is rolled back.
        let broken = try call(kernel, "probe.sql.migrate", ["migrations": [["version": 4, "sql": "CREATE TABLE broken (x"]]])
        XCTAssertEqual(broken.status, 400, broken.summary)
        XCTAssertTrue(broken.text.contains("migration 4"), broken.summary)
    }

    func checkTransactionRollbackWhenCallerFails() throws {
        let kernel = try startStorageKernel()
        try ok(kernel, "probe.sql", ["sql": "CREATE TABLE ledger (id INTEGER PRIMARY KEY, amount INTEGER NOT NULL)", "params": []])
        let statements: [[String: Any]] = [
            ["sql": "INSERT INTO ledger (id, amount) VALUES ($1, $2)", "params": [1, 100]],
            ["sql": "INSERT INTO ledger (id, amount) VALUES ($1, $2)", "params": [2, -100]],
            ["sql": "SELECT count(*) AS n FROM ledger", "params": []],
        ]
        let failed = try call(kernel, "probe.sql.tx", ["statements": statements, "fail_at": 2])
        XCTAssertEqual(failed.status, 500, failed.summary)
        XCTAssertEqual(try rowCount(kernel, "ledger"), 0, "the closure threw after two inserts: both rolled back")

        // A failing statement inside: the closure sees the error, everything rolls back.
        let bad = try call(kernel, "probe.sql.tx", ["statements": [statements[0], ["sql": "INSERT INTO nowhere VALUES (1)", "params": []]]])
        XCTAssertEqual(bad.status, 400, bad.summary)
        XCTAssertEqual(try rowCount(kernel, "ledger"), 0)

        let committed = try ok(kernel, "probe.sql.tx", ["statements": statements])
        XCTAssertEqual(((committed["rows"] as? [[Any]])?.first?.first as? NSNumber)?.intValue, 2, "the transaction sees its own writes")
        XCTAssertEqual(try rowCount(kernel, "ledger"), 2)
        let closed = try ok(kernel, "probe.sql.closed")
        XCTAssertEqual(closed["code"] as? String, "invalid_argument", "a closed transaction is refused: \(closed)")
    }

    /// A plugin that begins a transaction and never ends it does not hold
    /// its locks for ever: the service rolls it back after the idle timeout.
    func checkAbandonedTransactionIsRolledBack() throws {
        let kernel = try startStorageKernel(settings: ["storage.transaction_timeout_ms=700"])
        try ok(kernel, "probe.sql", ["sql": "CREATE TABLE jobs (id INTEGER PRIMARY KEY)", "params": []])
        try ok(kernel, "probe.sql.abandon", ["statements": [["sql": "INSERT INTO jobs (id) VALUES (1)"]]])
        var last = ""
        let writable = waitUntil(timeout: 20, interval: 0.2) {
            guard let response = try? self.call(kernel, "probe.sql", ["sql": "INSERT INTO jobs (id) VALUES (1)", "params": []]) else { return false }
            last = response.summary
            return response.status == 200
        }
        XCTAssertTrue(writable, "the abandoned transaction still blocks the row: \(last)")
        XCTAssertEqual(try rowCount(kernel, "jobs"), 1, "the abandoned insert was rolled back, ours committed")
    }

    func checkStatusThroughKernelctl() throws {
        let kernel = try startStorageKernel()
        try ok(kernel, "probe.kv.put", ["key": "a", "value": "1"])
        try ok(kernel, "probe.kv.put", ["key": "b", "value": "2"])
        try ok(kernel, "probe.log.append", ["stream": "audit", "payload": "x", "count": 3])
        let json = try kernelctl(kernel, ["storage", "--json"])
        XCTAssertEqual(json.status, 0, json.stderr)
        let status = (try? JSONSerialization.jsonObject(with: Data(json.stdout.utf8))) as? [String: Any] ?? [:]
        XCTAssertEqual(status["backend"] as? String, Self.backend, json.stdout)
        let namespaces = status["namespaces"] as? [[String: Any]] ?? []
        XCTAssertEqual(namespaces.first { $0["name"] as? String == "storageprobe" }?.int("keys"), 2, json.stdout)
        let streams = status["streams"] as? [[String: Any]] ?? []
        XCTAssertEqual(streams.first { $0["name"] as? String == "audit" }?.int("next_offset"), 3, json.stdout)
        XCTAssertGreaterThan(status.int("size_bytes") ?? 0, 0, json.stdout)
        let human = try kernelctl(kernel, ["storage"])
        XCTAssertTrue(human.stdout.contains("storageprobe") && human.stdout.contains("audit"), human.stdout)

        // Look and repair.
        XCTAssertEqual(try kernelctl(kernel, ["kv", "get", "storageprobe", "a"]).stdout, "1\n")
        XCTAssertEqual(try kernelctl(kernel, ["kv", "put", "storageprobe", "a", "repaired"]).status, 0)
        XCTAssertEqual(try ok(kernel, "probe.kv.get", ["key": "a"])["value"] as? String, "repaired")
        let scan = try kernelctl(kernel, ["kv", "scan", "storageprobe", "--json"])
        let keys = ((try? JSONSerialization.jsonObject(with: Data(scan.stdout.utf8))) as? [String: Any])?["entries"] as? [[String: Any]]
        XCTAssertEqual(keys?.compactMap { $0["key"] as? String }, ["a", "b"], scan.stdout)
        XCTAssertEqual(try kernelctl(kernel, ["kv", "delete", "storageprobe", "b"]).status, 0)
        XCTAssertEqual(try ok(kernel, "probe.kv.get", ["key": "b"])["found"] as? Bool, false)
        let missing = try kernelctl(kernel, ["kv", "get", "storageprobe", "b"])
        XCTAssertEqual(missing.status, 1)
        XCTAssertTrue(missing.stderr.hasPrefix("kernelctl: not_found"), missing.stderr)
        let log = try kernelctl(kernel, ["log", "read", "storageprobe/audit", "--from", "1", "--json"])
        let batch = (try? JSONSerialization.jsonObject(with: Data(log.stdout.utf8))) as? [String: Any] ?? [:]
        XCTAssertEqual((batch["records"] as? [[String: Any]] ?? []).compactMap { $0.int("offset") }, [1, 2], log.stdout)
        XCTAssertTrue(try kernelctl(kernel, ["log", "read", "storageprobe/audit"]).stdout.contains("x1"))
    }

    /// kill -9 during a stream of acknowledged writes: after a restart on
    /// the same data, every acknowledged write is there.
    func checkAcknowledgedWritesSurviveKill() throws {
        let settings = try backendSettings()
        let first = try startKernel(plugins: ["libhttp.so", "libstorage.so", "libstorageprobe.so"], settings: settings)
        let writers = AcknowledgedWrites(port: first.httpPort, threads: 4)
        writers.start()
        let enough = waitUntil(timeout: 30) { writers.acknowledged.count >= 200 }
        XCTAssertTrue(enough, "only \(writers.acknowledged.count) writes acknowledged in 30 s")
        kill(first.pid, SIGKILL)
        writers.stop()
        _ = waitUntil(timeout: 10) { !first.isRunning }
        let acknowledged = writers.acknowledged

        // A new kernel on the files the dead one left (SQLite), or the same database.
        let second = try KernelProcess(plugins: ["libhttp.so", "libstorage.so", "libstorageprobe.so"], settings: settings)
        let files = first.dataDirectory + "/plugins/storage"
        if FileManager.default.fileExists(atPath: files) {
            try FileManager.default.createDirectory(atPath: second.dataDirectory + "/plugins", withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: files, toPath: second.dataDirectory + "/plugins/storage")
        }
        try second.start(waitingFor: ["http", "storage", "storageprobe"])
        defer {
            second.stop()
            second.removeDirectory()
        }
        var missing: [String] = []
        for (key, value) in acknowledged {
            let read = try call(second, "probe.kv.get", ["key": key])
            if read.json?["value"] as? String != value { missing.append(key) }
        }
        XCTAssertEqual(missing, [], "\(missing.count) of \(acknowledged.count) acknowledged writes lost")
        var offsets = Set<Int>()
        var from = 0
        while true {
            let batch = try ok(second, "probe.log.read", ["stream": "acked", "from": from, "limit": 1000])
            let page = (batch["records"] as? [[String: Any]] ?? []).compactMap { $0.int("offset") }
            offsets.formUnion(page)
            guard let last = page.last else { break }
            from = last + 1
        }
        let ackedOffsets = writers.acknowledgedOffsets
        XCTAssertTrue(ackedOffsets.isSubset(of: offsets), "acknowledged appends lost: \(ackedOffsets.subtracting(offsets).sorted())")
    }

    /// Reloading storage: plugins holding the old table keep working (the
    /// old image forwards to the new one), data and versions carry on.
    func checkReloadOfStorageKeepsDependentsWorking() throws {
        let kernel = try startStorageKernel()
        let before = try XCTUnwrap(try ok(kernel, "probe.kv.put", ["key": "k", "value": "1"]).int("version"))
        let reload = try kernelctl(kernel, ["reload", "storage"])
        XCTAssertEqual(reload.status, 0, reload.stderr)
        XCTAssertEqual(try ok(kernel, "probe.kv.get", ["key": "k"])["value"] as? String, "1")
        let after = try XCTUnwrap(try ok(kernel, "probe.kv.put", ["key": "k", "value": "2"]).int("version"))
        XCTAssertGreaterThan(after, before)
        try ok(kernel, "probe.log.append", ["stream": "after-reload", "payload": "x"])
        try ok(kernel, "probe.sql", ["sql": "SELECT 1", "params": []])
    }

    func rowCount(_ kernel: KernelProcess, _ table: String) throws -> Int {
        let rows = try ok(kernel, "probe.sql", ["sql": "SELECT count(*) AS n FROM \(table)", "params": []])
        return ((rows["rows"] as? [[Any]])?.first?.first as? NSNumber)?.intValue ?? -1
    }
}

/// HTTP statuses collected from several threads.
final class Statuses: @unchecked Sendable {
    private let lock = NSLock()
    private var values: [Int] = []
    func add(_ status: Int) { lock.withLock { values.append(status) } }
    var all: [Int] { lock.withLock { values } }
}

/// Threads that write keys and log records as fast as acknowledgements come,
/// recording only what the kernel acknowledged (HTTP 200).
final class AcknowledgedWrites: @unchecked Sendable {
    private let port: Int
    private let threads: Int
    private let lock = NSLock()
    private var written: [String: String] = [:]
    private var offsets: Set<Int> = []
    private var stopping = false
    private let group = DispatchGroup()

    init(port: Int, threads: Int) {
        self.port = port
        self.threads = threads
    }

    var acknowledged: [String: String] { lock.withLock { written } }
    var acknowledgedOffsets: Set<Int> { lock.withLock { offsets } }

    func start() {
        for thread in 0..<threads {
            group.enter()
            Thread.detachNewThread { [self] in
                var index = 0
                while !lock.withLock({ stopping }) {
                    let key = "k-\(thread)-\(index)"
                    let value = "v-\(index)-" + String(repeating: "x", count: index % 50)
                    if let response = try? HTTP.call(port: port, "probe.kv.put", #"{"key":"\#(key)","value":"\#(value)"}"#, timeout: 5),
                       response.status == 200 {
                        lock.withLock { written[key] = value }
                    }
                    if let response = try? HTTP.call(port: port, "probe.log.append", #"{"stream":"acked","payload":"\#(key)"}"#, timeout: 5),
                       response.status == 200, let offset = (response.json?["offsets"] as? [Int])?.first {
                        lock.withLock { _ = offsets.insert(offset) }
                    }
                    index += 1
                }
                group.leave()
            }
        }
    }

    func stop() {
        lock.withLock { stopping = true }
        _ = group.wait(timeout: .now() + 30)
    }
}
