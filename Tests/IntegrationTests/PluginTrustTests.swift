import Foundation
import XCTest

/// Plugins run in the kernel's address space: a plugins directory or a
/// plugin file that another user could have written is refused, with the
/// reason, unless the operator says `--insecure-plugins-dir`.
final class PluginTrustTests: IntegrationTestCase {
    func testAWorldWritablePluginsDirectoryIsRefused() throws {
        let refused = try KernelProcess()
        defer { refused.stop(); refused.removeDirectory() }
        XCTAssertEqual(chmod(refused.pluginsDirectory, 0o777), 0)
        XCTAssertThrowsError(try refused.start()) { error in
            XCTAssertTrue("\(error)".contains("plugins directory \(refused.pluginsDirectory) can be written by every user (mode 777)"),
                          "\(error)")
        }
        XCTAssertFalse(refused.isRunning)

        // The escape hatch, for a directory the operator vouches for.
        let insecure = try KernelProcess(extraArguments: ["--insecure-plugins-dir"])
        defer { insecure.stop(); insecure.removeDirectory() }
        XCTAssertEqual(chmod(insecure.pluginsDirectory, 0o777), 0)
        try insecure.start()
        assertHelloAnswers(insecure)
    }

    func testAGroupWritablePluginFileIsRefusedAndTheRestServes() throws {
        let kernel = try startKernel()
        let built = kernel.buildDirectory + "/libgreeter.so"
        try CPluginBuilder.buildGreeter(output: built)
        XCTAssertEqual(chmod(built, 0o775), 0)
        try kernel.renameIntoPlugins(built, as: "libgreeter.so")
        var reason = ""
        XCTAssertTrue(waitUntil(timeout: 10) {
            reason = (try? kernel.adminResult("list"))?.rejection(forFile: "libgreeter.so")?["reason"] as? String ?? ""
            return !reason.isEmpty
        })
        XCTAssertTrue(reason.contains("not trusted: plugin file") && reason.contains("can be written by its group (mode 775)"), reason)
        assertHelloAnswers(kernel)

        // Fixed in place (chmod, then a fresh write), it loads.
        let rebuilt = kernel.buildDirectory + "/libgreeter2.so"
        try CPluginBuilder.buildGreeter(output: rebuilt)
        XCTAssertEqual(chmod(rebuilt, 0o755), 0)
        try kernel.renameIntoPlugins(rebuilt, as: "libgreeter.so")
        XCTAssertNotNil(waitForCall(kernel, "greeter.greet", status: 200))
    }
}
