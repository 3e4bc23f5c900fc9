import Foundation
import XCTest

/// A plugin built against ABI 1.0 keeps working on this kernel: its structs
/// have the 1.0 sizes and field names, and every kind of registration it
/// makes is read as it meant it. The 1.0 header and the plugin are in
/// Tests/Fixtures/abi-1.0; the plugin is compiled against that header only.
final class ABICompatibilityTests: IntegrationTestCase {
    static var fixtures: String { Products.repositoryRoot + "/Tests/Fixtures/abi-1.0" }

    /// `cc -shared -fPIC -I Tests/Fixtures/abi-1.0` (never Protocols): the 1.0 header.
    private func buildLegacyPlugin(into directory: String) throws -> String {
        let output = directory + "/liblegacy.so"
        let arguments = ["cc", "-std=c99", "-Wall", "-Wextra", "-Werror", "-shared", "-fPIC", "-I", Self.fixtures,
                         "-o", output, Self.fixtures + "/legacy.c"]
        let result = try runProgram("/usr/bin/env", arguments, workDirectory: directory, timeout: 120)
        guard result.status == 0, !result.timedOut else {
            throw SetupError("cc failed (status \(result.status)) for legacy.c:\n\(result.stderr)\(result.stdout)")
        }
        return output
    }

    /// Starts a kernel with http and drops liblegacy.so into its plugins directory.
    private func startKernelWithLegacyPlugin() throws -> KernelProcess {
        let kernel = try startKernel(plugins: ["libhttp.so"])
        let built = try buildLegacyPlugin(into: kernel.buildDirectory)
        try kernel.renameIntoPlugins(built, as: "liblegacy.so")
        return kernel
    }

    /// The 1.0 part of every struct and of the host table has the same
    /// offsets and sizes in Protocols/kn_plugin.h as in the 1.0 header.
    func testLayoutOfABI10IsUnchanged() throws {
        let directory = try makeTemporaryDirectory("kn-layout")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        func layout(include: String, defines: [String]) throws -> String {
            let program = directory + "/layout-\(defines.isEmpty ? "1.0" : "current")"
            let built = try runProgram("/usr/bin/env", ["cc", "-std=c99", "-Wall", "-Wextra", "-Werror"] + defines
                                       + ["-I", include, "-o", program, Self.fixtures + "/layout.c"],
                                       workDirectory: directory, timeout: 120)
            guard built.status == 0, !built.timedOut else { throw SetupError("layout.c against \(include):\n\(built.stderr)") }
            let run = try runProgram(program, [], workDirectory: directory, timeout: 30)
            guard run.status == 0 else { throw SetupError("\(program) exited \(run.status): \(run.stderr)") }
            return run.stdout
        }
        let old = try layout(include: Self.fixtures, defines: [])
        let current = try layout(include: Products.protocolsDirectory, defines: ["-DKN_LAYOUT_CURRENT"])
        XCTAssertGreaterThan(old.split(separator: "\n").count, 100, old)
        let oldLines = old.split(separator: "\n")
        let currentLines = current.split(separator: "\n")
        for (before, now) in zip(oldLines, currentLines) where before != now {
            XCTFail("ABI 1.0 layout changed: 1.0 has \"\(before)\", Protocols has \"\(now)\"")
        }
        XCTAssertEqual(oldLines.count, currentLines.count)
    }

    func testPluginBuiltAgainstABI10ServesEveryRegistration() throws {
        let kernel = try startKernelWithLegacyPlugin()

        // A unary endpoint, through a middleware that marks the response.
        let echo = waitForCall(kernel, "legacy.echo", #"{"say":"hi"}"#, status: 200)
        XCTAssertEqual(echo?.text, #"{"say":"hi"}"#, echo?.summary ?? "")
        XCTAssertEqual(echo?.header("x-legacy"), "1", "the 1.0 middleware's response metadata is missing")

        // A route with a parameter, percent-decoded before it reaches the handler.
        let item = try HTTP.request(port: kernel.httpPort, "GET", "/legacy/items/a%20b")
        XCTAssertEqual(item.status, 200, item.summary)
        XCTAssertEqual(item.json?["id"] as? String, "a b", item.summary)
        XCTAssertEqual(item.header("x-legacy"), "1", item.summary)

        // A job and an event handler, counted by the plugin.
        let trigger = try HTTP.call(port: kernel.httpPort, "legacy.trigger")
        XCTAssertEqual(trigger.status, 200, trigger.summary)
        var stats: [String: Any] = [:]
        let counted = waitUntil(timeout: 10) {
            guard let response = try? HTTP.call(port: kernel.httpPort, "legacy.stats", timeout: 5),
                  response.status == 200, let json = response.json else { return false }
            stats = json
            return (json["jobs"] as? Int ?? 0) >= 1 && (json["events"] as? Int ?? 0) >= 1
        }
        XCTAssertTrue(counted, "the job and the event did not both run within 10 s; last stats: \(stats)")

        // The kernel lists it, with what it registered.
        let listed = try kernel.adminResult("list").plugin(named: "legacy")
        XCTAssertEqual(listed?["state"] as? String, "running", "\(listed ?? [:])")
        XCTAssertEqual(listed?["version"] as? String, "1.0.0")
        let info = try kernel.adminResult("info", ["name": "legacy"])
        let endpoints = Set((info["endpoints"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String })
        XCTAssertEqual(endpoints, ["legacy.echo", "legacy.item", "legacy.stats", "legacy.trigger", "legacy.count"])
        let middleware = info["middleware"] as? [[String: Any]] ?? []
        XCTAssertEqual(middleware.first?["endpoints"] as? String, "legacy.*", "\(middleware)")
        XCTAssertEqual(info["jobs"] as? [String], ["legacy.job"])
        XCTAssertEqual(info["event_handlers"] as? [String], ["legacy.#"])
    }

    func testStreamOfABI10PluginOverHTTPAsNDJSON() throws {
        let kernel = try startKernelWithLegacyPlugin()
        waitForCall(kernel, "legacy.echo", status: 200)

        let response = try HTTP.request(
            port: kernel.httpPort, "POST", "/api/legacy.count",
            headers: [("Content-Type", "application/json"), ("Accept", "application/x-ndjson")],
            body: Array("{}".utf8))
        XCTAssertEqual(response.status, 200, response.summary)
        let lines = response.text.split(separator: "\n").map(String.init).filter { !$0.isEmpty }
        XCTAssertEqual(lines.count, 3, "expected three NDJSON lines: \(response.text)")
        for (index, line) in lines.enumerated() {
            let object = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any]
            XCTAssertEqual(object?["n"] as? Int, index + 1, "line \(index + 1): \(line)")
        }
    }
}
