import Foundation
import Glibc
import XCTest

/// The kernel's life: shutdown on SIGTERM, reload of the Swift plugin under
/// traffic, background jobs and events.
final class LifecycleTests: IntegrationTestCase {
    func testSIGTERMDrainsAndExitsZero() throws {
        let kernel = try startKernel()
        assertHelloAnswers(kernel)
        let outcome = kernel.terminate(timeout: 20)
        XCTAssertTrue(outcome.exited, "kernel still running 20 s after SIGTERM")
        XCTAssertTrue(outcome.byExit, "kernel ended by a signal, not an exit")
        XCTAssertEqual(outcome.status, 0, "exit status after SIGTERM")
        XCTAssertThrowsError(try HTTPConnection(port: kernel.httpPort, timeout: 2), "HTTP port still accepting after exit")
    }

    func testReloadOfSwiftPluginKeepsServing() throws {
        let kernel = try startKernel()
        let generation1 = try kernel.adminResult("list").plugin(named: "hello")?["generation"] as? Int
        let caller = BackgroundCaller(port: kernel.httpPort, endpoint: "hello")
        caller.start()
        XCTAssertTrue(waitUntil(timeout: 10) { caller.snapshot.count >= 5 }, "background calls do not complete")

        let result = try kernelctl(kernel, ["reload", "hello"])
        XCTAssertEqual(result.status, 0, "kernelctl reload hello: \(result.stderr)")
        let countAtReload = caller.snapshot.count
        XCTAssertTrue(waitUntil(timeout: 10) { caller.snapshot.count >= countAtReload + 20 }, "calls stopped after the reload")
        let outcomes = caller.stop()

        let failures = outcomes.filter { $0.status != 200 }
        XCTAssertTrue(failures.isEmpty, "\(failures.count) of \(outcomes.count) calls failed across the reload: \(failures.prefix(5))")
        let generation2 = try kernel.adminResult("list").plugin(named: "hello")?["generation"] as? Int
        XCTAssertNotNil(generation1)
        XCTAssertGreaterThan(generation2 ?? 0, generation1 ?? Int.max, "generation should increase on reload")
        assertHelloAnswers(kernel)
    }

    func testJobAndEventRun() throws {
        let kernel = try startKernel()
        let trigger = try HTTP.call(port: kernel.httpPort, "hello.trigger")
        XCTAssertEqual(trigger.status, 200, trigger.summary)
        XCTAssertNotNil(trigger.json?["job"] as? Int, trigger.summary)

        var last: HTTPResponse?
        let ran = waitUntil(timeout: 15, interval: 0.1) {
            guard let stats = try? HTTP.call(port: kernel.httpPort, "hello.stats") else { return false }
            last = stats
            let jobs = stats.json?["jobsRun"] as? Int ?? 0
            let events = stats.json?["eventsReceived"] as? Int ?? 0
            return jobs >= 1 && events >= 1
        }
        XCTAssertTrue(ran, "the job or the event did not run: \(last?.summary ?? "no stats")")
    }
}
