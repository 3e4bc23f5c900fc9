import Foundation
import XCTest

/// The kernelctl binary, run as a process against a real kernel.
final class KernelctlTests: IntegrationTestCase {
    private func json(_ result: ProgramResult, file: StaticString = #filePath, line: UInt = #line) -> [String: Any]? {
        let object = (try? JSONSerialization.jsonObject(with: Data(result.stdout.utf8))) as? [String: Any]
        XCTAssertNotNil(object, "stdout is not a JSON object: \(result.stdout)", file: file, line: line)
        return object
    }

    private func assertSuccess(_ result: ProgramResult, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(result.status, 0, "kernelctl \(what) failed: stderr \(result.stderr) stdout \(result.stdout)", file: file, line: line)
    }

    private func assertOneLineError(_ result: ProgramResult, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(result.status, 1, "kernelctl \(what): exit status", file: file, line: line)
        let lines = result.stderr.split(separator: "\n", omittingEmptySubsequences: true)
        XCTAssertEqual(lines.count, 1, "kernelctl \(what): stderr should be one line: \(result.stderr)", file: file, line: line)
        XCTAssertTrue(lines.first?.hasPrefix("kernelctl:") == true, "kernelctl \(what): stderr: \(result.stderr)", file: file, line: line)
    }

    func testStatus() throws {
        let kernel = try startKernel()
        let text = try kernelctl(kernel, ["status"])
        assertSuccess(text, "status")
        XCTAssertFalse(text.stdout.isEmpty)

        let result = try kernelctl(kernel, ["--json", "status"])
        assertSuccess(result, "--json status")
        let status = json(result)
        XCTAssertEqual((status?["supervisor"] as? [String: Any])?["pid"] as? Int, Int(kernel.pid))
        XCTAssertEqual(status?["pid"] as? Int, Int(try kernel.workerPID()))
        let listeners = status?["listeners"] as? [[String: Any]] ?? []
        XCTAssertTrue(listeners.contains { $0["plugin"] as? String == "http" && $0["port"] as? Int == kernel.httpPort },
                      "listeners: \(listeners)")
    }

    func testListJSON() throws {
        let kernel = try startKernel()
        let result = try kernelctl(kernel, ["--json", "list"])
        assertSuccess(result, "--json list")
        let list = json(result) ?? [:]
        XCTAssertNotNil(list.plugin(named: "hello"), "list: \(result.stdout)")
        XCTAssertNotNil(list.plugin(named: "http"), "list: \(result.stdout)")
        XCTAssertEqual(list.plugin(named: "hello")?["version"] as? String, "1.0.0")

        let text = try kernelctl(kernel, ["list"])
        assertSuccess(text, "list")
        XCTAssertTrue(text.stdout.contains("hello") && text.stdout.contains("http"), text.stdout)
    }

    func testEndpoints() throws {
        let kernel = try startKernel()
        let text = try kernelctl(kernel, ["endpoints"])
        assertSuccess(text, "endpoints")
        XCTAssertTrue(text.stdout.contains("hello"), text.stdout)
        XCTAssertTrue(text.stdout.contains("hello.user"), text.stdout)

        let result = try kernelctl(kernel, ["--json", "endpoints"])
        assertSuccess(result, "--json endpoints")
        let endpoints = json(result)?["endpoints"] as? [[String: Any]] ?? []
        XCTAssertTrue(endpoints.contains { $0["name"] as? String == "hello" && $0["plugin"] as? String == "hello" },
                      "endpoints: \(result.stdout)")
    }

    func testCall() throws {
        let kernel = try startKernel()
        let result = try kernelctl(kernel, ["call", "hello", "{}"])
        assertSuccess(result, "call hello")
        XCTAssertTrue(result.stdout.contains("hello"), result.stdout)

        let greet = try kernelctl(kernel, ["call", "greet", #"{"name":"ctl"}"#])
        assertSuccess(greet, "call greet")
        XCTAssertTrue(greet.stdout.contains("hello, ctl"), greet.stdout)

        let failed = try kernelctl(kernel, ["call", "hello.fail", #"{"code":"conflict"}"#])
        assertOneLineError(failed, "call hello.fail")
        XCTAssertTrue(failed.stderr.contains("conflict"), failed.stderr)
    }

    func testLoadReloadUnloadOfPluginOutsideTheDirectory() throws {
        let kernel = try startKernel()
        let outside = kernel.root + "/elsewhere/libctlgreeter.so"
        try CPluginBuilder.buildGreeter(output: outside, defines: [
            "PLUGIN_NAME=" + CPluginBuilder.quoted("ctlgreeter"),
            "ENDPOINT_NAME=" + CPluginBuilder.quoted("ctlgreeter.greet"),
            "ROUTE_PATH=" + CPluginBuilder.quoted("/ctlgreet"),
        ])

        let load = try kernelctl(kernel, ["load", outside])
        assertSuccess(load, "load")
        let answer = try HTTP.call(port: kernel.httpPort, "ctlgreeter.greet")
        XCTAssertEqual(answer.status, 200, answer.summary)
        XCTAssertEqual(answer.json?["greeting"] as? String, "hello from C", answer.summary)

        let before = json(try kernelctl(kernel, ["--json", "list"]))?.plugin(named: "ctlgreeter")
        XCTAssertEqual(before?["path"] as? String, outside)
        let generation1 = before?["generation"] as? Int

        let reload = try kernelctl(kernel, ["reload", "ctlgreeter"])
        assertSuccess(reload, "reload")
        let after = json(try kernelctl(kernel, ["--json", "list"]))?.plugin(named: "ctlgreeter")
        let generation2 = after?["generation"] as? Int
        XCTAssertNotNil(generation1)
        XCTAssertGreaterThan(generation2 ?? 0, generation1 ?? Int.max, "generation should increase on reload")
        let reloaded = try HTTP.call(port: kernel.httpPort, "ctlgreeter.greet")
        XCTAssertEqual(reloaded.status, 200, reloaded.summary)

        let unload = try kernelctl(kernel, ["unload", "ctlgreeter"])
        assertSuccess(unload, "unload")
        let gone = try HTTP.call(port: kernel.httpPort, "ctlgreeter.greet")
        XCTAssertEqual(gone.status, 404, gone.summary)
        XCTAssertEqual(gone.errorCode, "not_found", gone.summary)
        XCTAssertNil(json(try kernelctl(kernel, ["--json", "list"]))?.plugin(named: "ctlgreeter"))
        assertHelloAnswers(kernel)
    }

    func testUnloadOfUnknownPluginFails() throws {
        let kernel = try startKernel()
        let result = try kernelctl(kernel, ["unload", "no-such-plugin"])
        assertOneLineError(result, "unload no-such-plugin")
    }

    func testUnreachableSocketFails() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let result = try runProgram(try Products.path("kernelctl"), ["--socket", directory + "/none.sock", "status"],
                                    workDirectory: directory, timeout: 30)
        assertOneLineError(result, "status on a missing socket")
    }
}
