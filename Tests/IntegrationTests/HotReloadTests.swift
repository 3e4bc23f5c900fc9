import Foundation
import XCTest

/// The watched plugins directory: a C plugin built here with cc is loaded
/// when dropped in, reloaded when replaced (without failing a call), and
/// unloaded when removed.
final class HotReloadTests: IntegrationTestCase {
    private func greeting(_ response: HTTPResponse) -> String? { response.json?["greeting"] as? String }

    func testRenameIntoDirectoryLoadsReplaceReloadsWithoutFailedCallsRemoveUnloads() throws {
        let kernel = try startKernel()
        let v1 = kernel.buildDirectory + "/libgreeter-v1.so"
        let v2 = kernel.buildDirectory + "/libgreeter-v2.so"
        try CPluginBuilder.buildGreeter(output: v1)
        try CPluginBuilder.buildGreeter(output: v2, defines: ["GREETING=" + CPluginBuilder.quoted("v2")])

        // Not served before it is dropped in.
        let before = try HTTP.call(port: kernel.httpPort, "greeter.greet")
        XCTAssertEqual(before.status, 404, before.summary)

        // Drop in: written outside the directory, renamed in.
        try kernel.renameIntoPlugins(v1, as: "libgreeter.so")
        let loaded = waitForCall(kernel, "greeter.greet", status: 200)
        XCTAssertEqual(loaded.flatMap(greeting), "hello from C", loaded?.summary ?? "")
        let routed = try HTTP.request(port: kernel.httpPort, "GET", "/greet")
        XCTAssertEqual(routed.status, 200, routed.summary)
        XCTAssertEqual(greeting(routed), "hello from C", routed.summary)
        let generation1 = try kernel.adminResult("list").plugin(named: "greeter")?["generation"] as? Int
        XCTAssertNotNil(generation1)
        XCTAssertNotNil(kernel.waitForLogLine(containing: ["greeter ready"]), "the plugin's host->log line is missing")

        // Replace while a background loop keeps calling.
        let caller = BackgroundCaller(port: kernel.httpPort, endpoint: "greeter.greet")
        caller.start()
        XCTAssertTrue(waitUntil(timeout: 10) { caller.snapshot.count >= 5 }, "background calls do not complete")
        try kernel.renameIntoPlugins(v2, as: "libgreeter.so")
        var switchedAt = 0
        let switched = waitUntil(timeout: 15) {
            let outcomes = caller.snapshot
            guard let index = outcomes.firstIndex(where: { $0.body.contains("\"v2\"") }) else { return false }
            switchedAt = index
            return outcomes.count >= index + 20 // keep calling a while after the switch
        }
        let outcomes = caller.stop()
        XCTAssertTrue(switched, "never answered v2 after the replacement; last: \(outcomes.last.map { "\($0)" } ?? "none")")
        let failures = outcomes.filter { $0.status != 200 }
        XCTAssertTrue(failures.isEmpty, "\(failures.count) of \(outcomes.count) calls failed during the reload: \(failures.prefix(5))")
        if switched {
            let oldAfterSwitch = outcomes[switchedAt...].filter { $0.body.contains("hello from C") }
            XCTAssertTrue(oldAfterSwitch.isEmpty, "\(oldAfterSwitch.count) calls answered v1 after the first v2 answer")
        }
        let generation2 = try kernel.adminResult("list").plugin(named: "greeter")?["generation"] as? Int
        XCTAssertGreaterThan(generation2 ?? 0, generation1 ?? Int.max, "generation did not increase on reload")

        // Remove: unloaded.
        try kernel.removeFromPlugins("libgreeter.so")
        let removed = waitForCall(kernel, "greeter.greet", status: 404)
        XCTAssertEqual(removed?.errorCode, "not_found", removed?.summary ?? "")
        XCTAssertTrue(waitUntil(timeout: 10) { (try? kernel.adminResult("list").plugin(named: "greeter")) == nil },
                      "greeter still listed after its file was removed")
        let route = try HTTP.request(port: kernel.httpPort, "GET", "/greet")
        XCTAssertEqual(route.status, 404, route.summary)
        assertHelloAnswers(kernel)
    }

    func testPlainCopyIntoDirectoryLoadsWithConfiguredGreeting() throws {
        let kernel = try startKernel(settings: ["greeter.greeting=from config"])
        let built = kernel.buildDirectory + "/libgreeter.so"
        try CPluginBuilder.buildGreeter(output: built)
        try kernel.copyIntoPlugins(built, as: "libgreeter.so")
        let response = waitForCall(kernel, "greeter.greet", status: 200)
        XCTAssertEqual(response.flatMap(greeting), "from config", "config_get(\"greeting\") should override the macro: \(response?.summary ?? "")")
        let info = try kernel.adminResult("info", ["name": "greeter"])
        XCTAssertEqual(info["version"] as? String, "1.0.0")
        XCTAssertEqual(info["flags"] as? [String], ["unload_safe"])
        XCTAssertEqual(kernel.log().components(separatedBy: "rejected").count - 1, 0, "a plain copy was rejected (partial file?)")
    }

    func testCustomPluginAndEndpointNames() throws {
        let kernel = try startKernel()
        let built = kernel.buildDirectory + "/libcustom.so"
        try CPluginBuilder.buildGreeter(output: built, defines: [
            "PLUGIN_NAME=" + CPluginBuilder.quoted("custom"),
            "ENDPOINT_NAME=" + CPluginBuilder.quoted("custom.hi"),
            "ROUTE_PATH=" + CPluginBuilder.quoted("/custom"),
        ])
        try kernel.renameIntoPlugins(built, as: "libcustom.so")
        let response = waitForCall(kernel, "custom.hi", status: 200)
        XCTAssertEqual(response.flatMap(greeting), "hello from C")
        XCTAssertNotNil(try kernel.adminResult("list").plugin(named: "custom"))
        let routed = try HTTP.request(port: kernel.httpPort, "GET", "/custom")
        XCTAssertEqual(routed.status, 200, routed.summary)
    }
}
