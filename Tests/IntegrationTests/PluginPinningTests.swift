import Foundation
import XCTest

/// With a trust file (`--trust`), only plugins whose SHA-256 it pins, or
/// whose `.sig` one of its Ed25519 keys made (`kernelctl sign`), load.
final class PluginPinningTests: IntegrationTestCase {
    private func kernelctl(_ arguments: [String], in directory: String) throws -> ProgramResult {
        try runProgram(try Products.path("kernelctl"), arguments, workDirectory: directory)
    }

    /// `sha256sum`, not the code under test.
    private func sha256(_ path: String) throws -> String {
        let result = try runProgram("/usr/bin/sha256sum", [path], workDirectory: NSTemporaryDirectory())
        return String(result.stdout.prefix(64))
    }

    func testSignedAndPinnedPluginsLoadTamperedAndUnknownOnesAreRefused() throws {
        let kernel = try KernelProcess(extraArguments: [])
        let work = kernel.buildDirectory
        // A signing key; its public half and the core plugins' digests make the trust file.
        let keygen = try kernelctl(["keygen", "--out", work + "/release.key", "--label", "tests"], in: work)
        XCTAssertEqual(keygen.status, 0, keygen.stderr)
        let keyLine = keygen.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertTrue(keyLine.hasPrefix("ed25519 "), keyLine)
        var trust = "# pinned for this test\n" + keyLine + "\n"
        for name in ["libhttp.so", "libhello.so"] { trust += "sha256 \(try sha256(kernel.pluginsDirectory + "/" + name))  \(name)\n" }
        let trustPath = kernel.root + "/trust"
        try trust.write(toFile: trustPath, atomically: true, encoding: .utf8)

        // Signed with the key: verify says so, and a kernel with --trust loads it.
        try CPluginBuilder.buildGreeter(output: work + "/libgreeter.so")
        let sign = try kernelctl(["sign", work + "/libgreeter.so", "--key", work + "/release.key"], in: work)
        XCTAssertEqual(sign.status, 0, sign.stderr)
        let verified = try kernelctl(["verify", work + "/libgreeter.so", "--trust", trustPath], in: work)
        XCTAssertEqual(verified.status, 0, verified.stderr)

        let pinned = try KernelProcess(extraArguments: ["--trust", trustPath])
        defer { pinned.stop(); pinned.removeDirectory() }
        try pinned.start()
        assertHelloAnswers(pinned)
        // The signature goes in first, then the plugin.
        try FileManager.default.copyItem(atPath: work + "/libgreeter.so.sig", toPath: pinned.pluginsDirectory + "/libgreeter.so.sig")
        try pinned.copyIntoPlugins(work + "/libgreeter.so", as: "libgreeter.so")
        XCTAssertNotNil(waitForCall(pinned, "greeter.greet", status: 200))

        // Tampered after signing: refused, and verify says why.
        var bytes = try Data(contentsOf: URL(fileURLWithPath: work + "/libgreeter.so"))
        bytes.append(0)
        try bytes.write(to: URL(fileURLWithPath: work + "/libevil.so"))
        try FileManager.default.copyItem(atPath: work + "/libgreeter.so.sig", toPath: work + "/libevil.so.sig")
        let refusedByCtl = try kernelctl(["verify", work + "/libevil.so", "--trust", trustPath], in: work)
        XCTAssertEqual(refusedByCtl.status, 1)
        XCTAssertTrue(refusedByCtl.stderr.contains("its signature matches no trusted key"), refusedByCtl.stderr)
        try FileManager.default.copyItem(atPath: work + "/libevil.so.sig", toPath: pinned.pluginsDirectory + "/libevil.so.sig")
        try pinned.copyIntoPlugins(work + "/libevil.so", as: "libevil.so")
        try assertRefused(pinned, "libevil.so", saying: "its signature matches no trusted key")

        // Neither pinned nor signed.
        try CPluginBuilder.buildGreeter(output: work + "/libother.so", defines: ["PLUGIN_NAME=\"other\""])
        try pinned.copyIntoPlugins(work + "/libother.so", as: "libother.so")
        try assertRefused(pinned, "libother.so", saying: "is not in the trust file, and there is no .sig file beside it")
        assertHelloAnswers(pinned)
        kernel.removeDirectory()
    }

    func testAnUnreadableTrustFileStopsTheStartWithTheLine() throws {
        let kernel = try KernelProcess(extraArguments: [])
        let trustPath = kernel.root + "/trust"
        try "sha256 nothex\n".write(toFile: trustPath, atomically: true, encoding: .utf8)
        let refused = try KernelProcess(extraArguments: ["--trust", trustPath])
        defer { refused.removeDirectory(); kernel.removeDirectory() }
        XCTAssertThrowsError(try refused.start()) { error in
            XCTAssertTrue("\(error)".contains("trust file line 1: a sha256 is 64 hexadecimal digits"), "\(error)")
        }
    }

    private func assertRefused(_ kernel: KernelProcess, _ file: String, saying words: String,
                               line: UInt = #line) throws {
        var reason = ""
        XCTAssertTrue(waitUntil(timeout: 10) {
            reason = (try? kernel.adminResult("list"))?.rejection(forFile: file)?["reason"] as? String ?? ""
            return !reason.isEmpty
        }, line: line)
        XCTAssertTrue(reason.contains("not trusted: ") && reason.contains(words), reason, line: line)
    }
}
