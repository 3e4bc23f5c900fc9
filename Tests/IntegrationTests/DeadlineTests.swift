import Foundation
import Glibc
import XCTest

/// Deadlines, in-flight limits and stuck handlers, with a C plugin whose
/// calls never finish unless cancelled.
final class DeadlineTests: IntegrationTestCase {
    static let slowPlugin = """
        #define _DEFAULT_SOURCE
        #include <kn_plugin.h>
        #include <stdatomic.h>
        #include <stdio.h>
        #include <string.h>
        #include <unistd.h>
        static const kn_host_api *host;
        static atomic_int cancels;
        static void respond_json(kn_call *c, const char *text) {
            kn_bytes body = { (const uint8_t *)text, strlen(text) };
            host->call_respond(c, body, "application/json");
        }
        /* Never completes: only a deadline or an unload ends it. */
        static void never(void *u, kn_call *c) { (void)u; (void)c; }
        static void cancelled(void *u, kn_call *c) { (void)u; (void)c; atomic_fetch_add(&cancels, 1); }
        /* Holds its caller's thread, then answers. */
        static void block(void *u, kn_call *c) { (void)u; usleep(900 * 1000); respond_json(c, "{}"); }
        static void count(void *u, kn_call *c) {
            (void)u; char text[64]; snprintf(text, sizeof text, "{\\"cancels\\":%d}", atomic_load(&cancels));
            respond_json(c, text);
        }
        static kn_status add(kn_plugin *self, const char *name, kn_handler_fn handler, kn_cancel_fn on_cancel) {
            kn_endpoint_def def; memset(&def, 0, sizeof def);
            def.struct_size = sizeof def; def.name = name; def.handler = handler; def.on_cancel = on_cancel;
            return host->register_endpoint(self, &def);
        }
        static kn_status init(kn_plugin *self) {
            kn_status status = add(self, "slow.never", never, cancelled);
            if (status == KN_OK) status = add(self, "slow.block", block, NULL);
            if (status == KN_OK) status = add(self, "slow.cancels", count, NULL);
            return status;
        }
        static const kn_plugin_descriptor descriptor = {
            .struct_size = sizeof(kn_plugin_descriptor), .abi_major = KN_ABI_MAJOR, .abi_minor = KN_ABI_MINOR,
            .name = "slow", .version = "1.0.0", .init = init };
        const kn_plugin_descriptor *kn_plugin_entry(const kn_host_api *h) { host = h; return &descriptor; }
        """

    private func startSlowKernel(settings: [String]) throws -> KernelProcess {
        let kernel = try startKernel(settings: settings)
        try CPluginBuilder.build(source: Self.slowPlugin, output: kernel.buildDirectory + "/libslow.so")
        try FileManager.default.moveItem(atPath: kernel.buildDirectory + "/libslow.so", toPath: kernel.pluginsDirectory + "/libslow.so")
        XCTAssertNotNil(waitForCall(kernel, "slow.cancels", status: 200))
        return kernel
    }

    private func cancels(_ kernel: KernelProcess) throws -> Int {
        let response = try HTTP.call(port: kernel.httpPort, "slow.cancels")
        let object = try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any]
        return object?["cancels"] as? Int ?? -1
    }

    func testAHandlerPastItsDeadlineReturns504AndHearsOnCancel() throws {
        let kernel = try startSlowKernel(settings: ["kernel.timeouts=slow.never=300", "kernel.drain_timeout_ms=500"])
        let response = try HTTP.call(port: kernel.httpPort, "slow.never", timeout: 10)
        XCTAssertEqual(response.status, 504, response.text)
        XCTAssertTrue(response.text.contains("\"timeout\""), response.text)
        XCTAssertTrue(waitUntil(timeout: 5) { (try? self.cancels(kernel)) == 1 })
        // The kernel's default deadline applies to every unary call.
        XCTAssertEqual(try HTTP.call(port: kernel.httpPort, "hello").status, 200)
    }

    func testTheClientMayShortenTheDeadline() throws {
        let kernel = try startSlowKernel(settings: ["kernel.call_timeout_ms=60000", "kernel.drain_timeout_ms=500"])
        let response = try HTTP.call(port: kernel.httpPort, "slow.never", headers: [("X-Timeout-Ms", "200")], timeout: 10)
        XCTAssertEqual(response.status, 504, response.text)
        XCTAssertTrue(waitUntil(timeout: 5) { (try? self.cancels(kernel)) == 1 })
    }

    func testPastTheEndpointLimitCallsAreRefusedAtOnceWith503AndHealthzStillAnswers() throws {
        let kernel = try startSlowKernel(settings: ["kernel.endpoint_limits=slow.never=4", "kernel.call_timeout_ms=0",
                                                    "kernel.drain_timeout_ms=500"])
        // 4 calls that never finish hold the endpoint's slots.
        let port = kernel.httpPort
        let holders = (0..<4).map { _ in Thread { _ = try? HTTP.call(port: port, "slow.never", timeout: 30) } }
        holders.forEach { $0.start() }
        XCTAssertTrue(waitUntil(timeout: 10) {
            ((try? kernel.adminResult("list"))?.plugin(named: "slow")?["in_flight"] as? Int ?? 0) >= 4
        })
        // A flood beyond the limit: every call refused, none queued.
        let refused = Counter(), other = Counter()
        let flood = (0..<16).map { _ in
            Thread {
                for _ in 0..<10 {
                    guard let response = try? HTTP.call(port: port, "slow.never", timeout: 10) else { other.add(); continue }
                    if response.status == 503 && response.header("retry-after") == "1" { refused.add() } else { other.add() }
                }
            }
        }
        flood.forEach { $0.start() }
        var healthz: [TimeInterval] = []
        let started = Date()
        while refused.value + other.value < 160 && Date().timeIntervalSince(started) < 60 {
            let before = Date()
            let response = try HTTP.request(port: kernel.httpPort, "GET", "/healthz", timeout: 5)
            XCTAssertEqual(response.status, 200)
            healthz.append(Date().timeIntervalSince(before))
        }
        XCTAssertEqual(refused.value, 160, "refused \(refused.value), other \(other.value)")
        XCTAssertEqual(try HTTP.call(port: kernel.httpPort, "hello").status, 200, "other endpoints keep serving")
        let sorted = healthz.sorted()
        print("overload: healthz answered \(sorted.count) times, p99 \(Int(sorted[min(sorted.count - 1, sorted.count * 99 / 100)] * 1000)) ms")
    }

    func testAHandlerThatBlocksItsThreadIsReported() throws {
        let kernel = try startSlowKernel(settings: ["kernel.blocked_thread_ms=200"])
        XCTAssertEqual(try HTTP.call(port: kernel.httpPort, "slow.block").status, 200)
        let line = kernel.waitForLogLine(containing: ["plugin slow", "'slow.block'", "has held thread"], timeout: 5)
        XCTAssertNotNil(line, kernel.log())
    }

    func testUnloadOfAPluginWhoseCallsNeverFinishCompletesAndSaysWhatItLeftBehind() throws {
        let kernel = try startSlowKernel(settings: ["kernel.drain_timeout_ms=500", "kernel.call_timeout_ms=0"])
        let answer = Answer()
        let port = kernel.httpPort
        let caller = Thread { answer.set(try? HTTP.call(port: port, "slow.never", timeout: 30)) }
        caller.start()
        // The slow plugin's own count: the kernel-wide one also counts other calls that are ending.
        XCTAssertTrue(waitUntil(timeout: 10) {
            ((try? kernel.adminResult("list"))?.plugin(named: "slow")?["in_flight"] as? Int ?? 0) >= 1
        })
        let started = Date()
        let result = try kernel.adminResult("unload", ["name": "slow"])
        XCTAssertLessThan(Date().timeIntervalSince(started), 10)
        let leftBehind = result["left_behind"] as? [String] ?? []
        XCTAssertEqual(leftBehind.count, 1, "\(result)")
        XCTAssertTrue(leftBehind.first?.hasPrefix("slow.never for ") ?? false, "\(leftBehind)")
        XCTAssertTrue(waitUntil(timeout: 5) { answer.value != nil })
        XCTAssertEqual(answer.value?.status, 503, answer.value?.text ?? "")
        XCTAssertNotNil(kernel.waitForLogLine(containing: ["Left behind", "slow.never for"]))
        XCTAssertEqual(try HTTP.call(port: kernel.httpPort, "hello").status, 200)
    }
}

/// A response another thread waits for.
final class Answer: @unchecked Sendable {
    private let lock = NSLock()
    private var response: HTTPResponse?
    func set(_ response: HTTPResponse?) { lock.withLock { self.response = response } }
    var value: HTTPResponse? { lock.withLock { response } }
}

/// A count shared by threads.
final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func add() { lock.withLock { count += 1 } }
    var value: Int { lock.withLock { count } }
}
