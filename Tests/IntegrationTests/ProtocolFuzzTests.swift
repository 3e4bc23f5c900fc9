import Foundation
import XCTest

/// Tests/Fuzz/protocol_fuzz.py against a real kernel: random and mutated
/// HTTP requests, WebSocket frames and upgrades, TCP frames, slow and
/// half-open connections, with real writes in between. The kernel must stay
/// up and serving on every protocol, keep every acknowledged write, and give
/// back its descriptors, calls and memory.
final class ProtocolFuzzTests: IntegrationTestCase {
    func testTheKernelSurvivesAFuzzingPass() throws {
        // pubsub too: its publishes are the writes that travel over http, ws and tcp. Idle timeouts of
        // 5 s: what a half-closed or trickling connection holds is let go within the checks' settling time.
        let kernel = try startKernel(plugins: ["libhttp.so", "libws.so", "libtcp.so", "libstorage.so", "libpubsub.so", "libhello.so"],
                                     settings: ["ws.port=0", "tcp.port=0", "tcp.idle_timeout_ms=5000", "ws.idle_timeout_ms=5000"])
        let wsPort = try kernel.listenerPort("ws")
        let tcpPort = try kernel.listenerPort("tcp")
        let script = Products.repositoryRoot + "/Tests/Fuzz/protocol_fuzz.py"
        // A fixed seed: a failure reproduces with the same arguments against a kernel started the same way.
        let arguments = ["python3", script,
                         "--http", "127.0.0.1:\(kernel.httpPort)", "--ws", "127.0.0.1:\(wsPort)", "--tcp", "127.0.0.1:\(tcpPort)",
                         "--socket", kernel.socketPath, "--pid", String(try kernel.workerPID()),
                         "--cases", "1500", "--seconds", "40", "--seed", "20261202"]
        // 40 s of cases, up to 15 s for descriptors and calls to come back, then the checks; the
        // script's own watchdog ends it well before this deadline.
        let result = try runProgram("/usr/bin/env", arguments, workDirectory: kernel.root, timeout: 300)
        XCTAssertFalse(result.timedOut, "the fuzzer did not finish within 300 s\n\(result.stderr)")
        XCTAssertEqual(result.status, 0, "the fuzzer found a problem (exit \(result.status)):\n\(result.stderr)\n\(result.stdout)")
        XCTAssertTrue(kernel.isRunning, "the kernel exited; see its log below")
        // The supervisor would hide a crash by starting a new worker: there must have been none.
        let supervisor = try kernel.adminResult("status")["supervisor"] as? [String: Any]
        XCTAssertEqual(supervisor?["worker_restarts"] as? Int, 0, "a worker crashed during the pass; see the log below")
    }
}
