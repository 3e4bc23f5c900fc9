import Foundation
import XCTest

/// C plugins queue jobs without knowing whether the scheduler runs: a
/// plugin built against ABI 1.0 (job_enqueue) and the C sample (job_submit,
/// 1.2) get durable jobs, stored and shown by `kernelctl jobs`, once the
/// scheduler is loaded.
final class CJobTests: IntegrationTestCase {
    private func startKernelWithScheduler() throws -> KernelProcess {
        try startKernel(plugins: ["libhttp.so", "libstorage.so", "libscheduler.so"], settings: ["scheduler.poll_interval_ms=100"])
    }

    /// The job's record as `kernelctl jobs show ID --json` prints it.
    private func job(_ kernel: KernelProcess, _ id: Int) throws -> [String: Any] {
        let result = try kernelctl(kernel, ["jobs", "show", String(id), "--json"])
        XCTAssertEqual(result.status, 0, result.stderr)
        return (try? JSONSerialization.jsonObject(with: Data(result.stdout.utf8))) as? [String: Any] ?? [:]
    }

    func testJobEnqueueOfAnABI10PluginIsStoredByTheScheduler() throws {
        let kernel = try startKernelWithScheduler()
        let output = kernel.buildDirectory + "/liblegacy.so"
        let fixtures = Products.repositoryRoot + "/Tests/Fixtures/abi-1.0"
        let built = try runProgram("/usr/bin/env", ["cc", "-std=c99", "-shared", "-fPIC", "-I", fixtures, "-o", output,
                                                    fixtures + "/legacy.c"], workDirectory: kernel.buildDirectory, timeout: 120)
        XCTAssertEqual(built.status, 0, built.stderr)
        try kernel.renameIntoPlugins(output, as: "liblegacy.so")
        XCTAssertTrue(waitUntil(timeout: 20) { (try? HTTP.call(port: kernel.httpPort, "legacy.trigger").status) == 200 })
        let response = try HTTP.call(port: kernel.httpPort, "legacy.trigger")
        let id = try XCTUnwrap((response.json?["job_id"] as? NSNumber)?.intValue, response.summary)
        XCTAssertTrue(waitUntil(timeout: 20) { (try? self.job(kernel, id)["state"] as? String) == "completed" },
                      "job \(id): \((try? job(kernel, id)) ?? [:])")
        let record = try job(kernel, id)
        XCTAssertEqual(record["name"] as? String, "legacy.job")
        XCTAssertEqual(record["enqueued_by"] as? String, "legacy")
    }

    func testTheCSampleQueuesItsJobWithJobSubmit() throws {
        let kernel = try startKernelWithScheduler()
        let output = kernel.buildDirectory + "/libgreeter.so"
        try CPluginBuilder.buildGreeter(output: output)
        try kernel.renameIntoPlugins(output, as: "libgreeter.so")
        XCTAssertTrue(waitUntil(timeout: 20) { (try? HTTP.call(port: kernel.httpPort, "greeter.greet").status) == 200 })
        let response = try HTTP.call(port: kernel.httpPort, "greeter.later")
        XCTAssertEqual(response.status, 200, response.summary)
        let id = try XCTUnwrap((response.json?["job_id"] as? NSNumber)?.intValue, response.summary)
        XCTAssertTrue(waitUntil(timeout: 20) { (try? self.job(kernel, id)["state"] as? String) == "completed" },
                      "job \(id): \((try? job(kernel, id)) ?? [:])")
        XCTAssertEqual(try job(kernel, id)["name"] as? String, "greeter.tally")
    }
}
