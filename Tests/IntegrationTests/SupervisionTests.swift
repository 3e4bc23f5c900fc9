import Foundation
import Glibc
import XCTest

/// The supervisor: a plugin that crashes the worker costs no refused
/// connection and no acknowledged write, is named in the crash ledger, and is
/// quarantined after its third crash until `release`.
final class SupervisionTests: IntegrationTestCase {
    /// Three ways to die, each in the plugin's own code or in what it called.
    static let crashingPlugin = """
        #include <kn_plugin.h>
        #include <stdlib.h>
        #include <string.h>
        static const kn_host_api *host;
        static void crash_segv(void *u, kn_call *c) { (void)u; (void)c; *(volatile int *)(size_t)8 = 1; }
        static void crash_abort(void *u, kn_call *c) { (void)u; (void)c; abort(); }
        static void crash_trap(void *u, kn_call *c) { (void)u; (void)c; __builtin_trap(); }
        static void ping(void *u, kn_call *c) {
            (void)u; kn_bytes body = { (const uint8_t *)"{\\"pong\\":true}", 13 };
            host->call_respond(c, body, "application/json");
        }
        static kn_status init(kn_plugin *self) {
            const char *names[] = { "crashy.segv", "crashy.abort", "crashy.trap", "crashy.ping" };
            kn_handler_fn handlers[] = { crash_segv, crash_abort, crash_trap, ping };
            for (int i = 0; i < 4; i++) {
                kn_endpoint_def def; memset(&def, 0, sizeof def);
                def.struct_size = sizeof def; def.name = names[i]; def.handler = handlers[i];
                kn_status status = host->register_endpoint(self, &def);
                if (status != KN_OK) return status;
            }
            return KN_OK;
        }
        static const kn_plugin_descriptor descriptor = {
            .struct_size = sizeof(kn_plugin_descriptor), .abi_major = KN_ABI_MAJOR, .abi_minor = KN_ABI_MINOR,
            .name = "crashy", .version = "1.0.0", .init = init };
        const kn_plugin_descriptor *kn_plugin_entry(const kn_host_api *h) { host = h; return &descriptor; }
        """

    func testCrashingPluginIsQuarantinedAfterThirdCrashWhileTheRestServes() throws {
        let kernel = try startKernel(plugins: ["libhttp.so", "libhello.so", "libstorage.so", "libstorageprobe.so"])
        try CPluginBuilder.build(source: Self.crashingPlugin, output: kernel.buildDirectory + "/libcrashy.so")
        try FileManager.default.moveItem(atPath: kernel.buildDirectory + "/libcrashy.so", toPath: kernel.pluginsDirectory + "/libcrashy.so")
        XCTAssertNotNil(waitForCall(kernel, "crashy.ping", status: 200))
        let supervisorPID = kernel.pid

        let poller = AvailabilityPoller(port: kernel.httpPort)
        poller.start()
        var acknowledged: [String] = []
        for (round, endpoint) in ["crashy.segv", "crashy.abort", "crashy.trap"].enumerated() {
            let key = "before-crash-\(round)"
            let put = try HTTP.call(port: kernel.httpPort, "probe.kv.put", #"{"key":"\#(key)","value":"v\#(round)"}"#)
            XCTAssertEqual(put.status, 200, put.text)
            acknowledged.append(key)
            // The worker dies under this call: no answer, or a reset.
            _ = try? HTTP.call(port: kernel.httpPort, endpoint, timeout: 10)
            XCTAssertTrue(waitForWorker(kernel, restarts: round + 1, loading: ["storageprobe", "hello"]),
                          "no new worker after \(endpoint)")
        }
        XCTAssertNotNil(waitForCall(kernel, "hello", status: 200))
        poller.stop()

        XCTAssertEqual(poller.refused, 0, "connections refused while workers restarted")
        XCTAssertGreaterThan(poller.answered, 0)
        print("supervision: \(poller.answered) answers, \(poller.failed) failed in flight, longest gap \(Int(poller.longestGap * 1000)) ms")
        XCTAssertLessThan(poller.longestGap, 5, "hello went unanswered for \(poller.longestGap) s")
        XCTAssertEqual(kernel.pid, supervisorPID)
        XCTAssertTrue(kernel.isRunning)

        // Every crash was recorded against the plugin, from its own frames.
        let ledger = try String(contentsOfFile: kernel.dataDirectory + "/crashes", encoding: .utf8)
        let records = ledger.split(separator: "\n").filter { $0.hasPrefix("crash ") }
        XCTAssertEqual(records.map { $0.split(separator: " ")[3] }, ["crashy", "crashy", "crashy"], ledger)
        XCTAssertEqual(records.map { $0.split(separator: " ")[2] }, ["SIGSEGV", "SIGABRT", "SIGILL"], ledger)

        // Quarantined: not loaded by the fourth worker, and listed with the reason.
        let list = try kernel.adminResult("list")
        XCTAssertNil(list.plugin(named: "crashy"))
        let quarantined = list["quarantined"] as? [[String: Any]] ?? []
        XCTAssertEqual(quarantined.first?["name"] as? String, "crashy", "\(list)")
        XCTAssertEqual(quarantined.first?["crashes"] as? Int, 3)
        XCTAssertTrue((list.rejection(forFile: "libcrashy.so")?["reason"] as? String ?? "").contains("quarantined"), "\(list)")
        XCTAssertEqual(try HTTP.call(port: kernel.httpPort, "crashy.ping").status, 404)

        // Acknowledged writes survived the three crashes.
        for (round, key) in acknowledged.enumerated() {
            let get = try HTTP.call(port: kernel.httpPort, "probe.kv.get", #"{"key":"\#(key)"}"#)
            XCTAssertTrue(get.text.contains("\"v\(round)\""), "\(key): \(get.text)")
        }

        // Released: loaded again at once, and the quarantine is gone from the list.
        let ctl = try runProgram(try Products.path("kernelctl"), ["--socket", kernel.socketPath, "release", "crashy"],
                                 workDirectory: kernel.root)
        XCTAssertEqual(ctl.status, 0, ctl.stderr)
        XCTAssertTrue(ctl.stdout.contains("released crashy"), ctl.stdout)
        XCTAssertEqual(try HTTP.call(port: kernel.httpPort, "crashy.ping").status, 200)
        XCTAssertEqual((try kernel.adminResult("list")["quarantined"] as? [Any])?.count, 0)
    }

    /// Waits until the worker started after `restarts` deaths has loaded `plugins`.
    private func waitForWorker(_ kernel: KernelProcess, restarts: Int, loading plugins: [String]) -> Bool {
        waitUntil(timeout: 15) {
            guard let status = try? kernel.adminResult("status"),
                  (status["supervisor"] as? [String: Any])?["worker_restarts"] as? Int == restarts,
                  let list = try? kernel.adminResult("list") else { return false }
            return plugins.allSatisfy { list.plugin(named: $0) != nil }
        }
    }

    func testSupervisorStopsItsWorkerAndExitsOnSIGTERM() throws {
        let kernel = try startKernel()
        let status = try kernel.adminResult("status")
        let worker = try XCTUnwrap(status["pid"] as? Int)
        XCTAssertEqual(status["supervised"] as? Bool, true)
        XCTAssertEqual((status["supervisor"] as? [String: Any])?["pid"] as? Int, Int(kernel.pid))
        XCTAssertNotEqual(worker, Int(kernel.pid))
        let result = kernel.terminate()
        XCTAssertTrue(result.exited)
        XCTAssertEqual(result.status, 0)
        XCTAssertTrue(result.byExit)
        XCTAssertTrue(waitUntil(timeout: 5) { kill(Int32(worker), 0) != 0 }, "the worker outlived its supervisor")
        XCTAssertFalse(FileManager.default.fileExists(atPath: kernel.socketPath))
    }

    func testWithoutSupervisorTheKernelRunsInOneProcess() throws {
        let kernel = try KernelProcess(extraArguments: ["--no-supervisor"])
        defer { kernel.stop(); kernel.removeDirectory() }
        try kernel.start()
        let status = try kernel.adminResult("status")
        XCTAssertEqual(status["pid"] as? Int, Int(kernel.pid))
        XCTAssertEqual(status["supervised"] as? Bool, false)
        XCTAssertEqual(try HTTP.call(port: kernel.httpPort, "hello").status, 200)
    }
}

/// Calls `hello` on a fresh connection in a loop: counts answers, connections
/// refused, and the longest time between two answers.
final class AvailabilityPoller: @unchecked Sendable {
    private let port: Int
    private let lock = NSLock()
    private var running = true
    private var lastAnswer = Date()
    private var thread: Thread?
    private let done = DispatchSemaphore(value: 0)
    private(set) var answered = 0
    private(set) var refused = 0
    private(set) var failed = 0
    private(set) var longestGap: TimeInterval = 0

    init(port: Int) { self.port = port }

    func start() {
        lastAnswer = Date()
        let thread = Thread { [self] in
            while lock.withLock({ running }) {
                do {
                    let response = try HTTP.call(port: port, "hello", timeout: 10)
                    let now = Date()
                    lock.withLock {
                        if response.status == 200 {
                            answered += 1
                            longestGap = max(longestGap, now.timeIntervalSince(lastAnswer))
                            lastAnswer = now
                        } else {
                            failed += 1
                        }
                    }
                } catch let error as SocketError where error.errnoValue == ECONNREFUSED {
                    lock.withLock { refused += 1 }
                } catch {
                    lock.withLock { failed += 1 } // in flight when the worker died
                }
                usleep(10_000)
            }
            done.signal()
        }
        self.thread = thread
        thread.start()
    }

    func stop() {
        lock.withLock { running = false }
        done.wait()
    }
}
