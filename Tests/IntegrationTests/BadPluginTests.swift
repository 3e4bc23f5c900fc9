import Foundation
import XCTest

/// Files the kernel must refuse when dropped into the watched directory: each
/// is listed under `rejected` with its reason, logged with the word
/// `rejected` and its path, and the kernel keeps serving.
final class BadPluginTests: IntegrationTestCase {
    /// A C plugin whose descriptor fields are given as C expressions.
    private func pluginSource(structSize: String = "sizeof(kn_plugin_descriptor)", abiMajor: String = "KN_ABI_MAJOR",
                              abiMinor: String = "KN_ABI_MINOR", name: String = "\"badplugin\"",
                              dependsOn: String = "NULL", initBody: String = "(void)self; return KN_OK;") -> String {
        """
        #include "kn_plugin.h"
        #include <stddef.h>
        #include <string.h>

        static const kn_host_api *host;
        static const char *const dependencies[] = {"nonexistent", NULL};

        static void handler(void *user_data, kn_call *call) {
            (void)user_data;
            const char *body = "{}";
            host->call_respond(call, (kn_bytes){(const uint8_t *)body, strlen(body)}, "application/json");
        }

        static kn_status init(kn_plugin *self) {
            \(initBody)
        }

        static const kn_plugin_descriptor descriptor = {
            .struct_size = \(structSize),
            .abi_major = \(abiMajor),
            .abi_minor = \(abiMinor),
            .name = \(name),
            .version = "1.0.0",
            .depends_on = \(dependsOn),
            .init = init,
            .flags = KN_PLUGIN_UNLOAD_SAFE,
        };

        KN_EXPORT const kn_plugin_descriptor *kn_plugin_entry(const kn_host_api *h) {
            (void)dependencies;
            (void)handler;
            host = h;
            return &descriptor;
        }
        """
    }

    /// Starts a kernel, lets `drop` put `fileName` into the plugins
    /// directory, and checks the rejection.
    private func assertRejected(_ fileName: String, reasonContainsOneOf words: [String],
                                file: StaticString = #filePath, line: UInt = #line,
                                drop: (KernelProcess) throws -> Void) throws -> KernelProcess {
        let kernel = try startKernel()
        try drop(kernel)

        var rejection: [String: Any]?
        let listed = waitUntil(timeout: 10) {
            rejection = try? kernel.adminResult("list").rejection(forFile: fileName)
            return rejection != nil
        }
        XCTAssertTrue(listed, "\(fileName) is not listed under `rejected` by admin `list`", file: file, line: line)
        let reason = rejection?["reason"] as? String ?? ""
        if listed {
            XCTAssertTrue(words.contains { reason.lowercased().contains($0.lowercased()) },
                          "reason for \(fileName) should mention one of \(words): \"\(reason)\"", file: file, line: line)
            XCTAssertEqual(rejection?["path"] as? String, kernel.pluginsDirectory + "/" + fileName, file: file, line: line)
        }
        let logLine = kernel.waitForLogLine(containing: ["rejected", fileName])
        XCTAssertNotNil(logLine, "no log line with `rejected` and \(fileName)", file: file, line: line)
        if let logLine {
            XCTAssertTrue(words.contains { logLine.lowercased().contains($0.lowercased()) },
                          "the log line should give the reason (one of \(words)): \(logLine)", file: file, line: line)
        }
        assertHelloAnswers(kernel, file: file, line: line)
        return kernel
    }

    /// Compiles `source` outside the plugins directory and renames it in.
    private func dropBuilt(_ kernel: KernelProcess, _ source: String, as fileName: String) throws {
        let built = kernel.buildDirectory + "/" + fileName
        try CPluginBuilder.build(source: source, output: built)
        try kernel.renameIntoPlugins(built, as: fileName)
    }

    func testTextFileNamedSo() throws {
        _ = try assertRejected("bad.so", reasonContainsOneOf: ["ELF", "shared object"]) { kernel in
            let path = kernel.buildDirectory + "/bad.so"
            try "this is not a shared object\n".write(toFile: path, atomically: false, encoding: .utf8)
            try kernel.renameIntoPlugins(path, as: "bad.so")
        }
    }

    /// A shared object cut short (a copy that stopped half way) would be
    /// mapped past its end and kill the process; it is refused instead.
    func testTruncatedSharedObject() throws {
        _ = try assertRejected("libhalf.so", reasonContainsOneOf: ["incomplete", "truncated"]) { kernel in
            let whole = try Data(contentsOf: URL(fileURLWithPath: try Products.path("libhello.so")))
            let path = kernel.buildDirectory + "/libhalf.so"
            try whole.prefix(whole.count / 2).write(to: URL(fileURLWithPath: path))
            try kernel.renameIntoPlugins(path, as: "libhalf.so")
        }
    }

    /// Offsets near 2^64 in a crafted header must not overflow the check.
    func testCraftedELFHeaderWithHugeOffsets() throws {
        _ = try assertRejected("libcrafted.so", reasonContainsOneOf: ["incomplete", "truncated"]) { kernel in
            var header = [UInt8](repeating: 0, count: 64)
            header.replaceSubrange(0..<7, with: [0x7F, 0x45, 0x4C, 0x46, 2, 1, 1]) // ELF, 64-bit, little-endian, version 1
            func put(_ value: UInt64, at offset: Int, bytes: Int) {
                for index in 0..<bytes { header[offset + index] = UInt8((value >> (8 * UInt64(index))) & 0xFF) }
            }
            put(0xFFFF_FFFF_FFFF_FFF0, at: 32, bytes: 8) // e_phoff
            put(0xFFFF_FFFF_FFFF_FFF0, at: 40, bytes: 8) // e_shoff
            put(56, at: 54, bytes: 2)                      // e_phentsize
            put(1, at: 56, bytes: 2)                       // e_phnum
            put(64, at: 58, bytes: 2)                      // e_shentsize
            put(1, at: 60, bytes: 2)                       // e_shnum
            let path = kernel.buildDirectory + "/libcrafted.so"
            try Data(header).write(to: URL(fileURLWithPath: path))
            try kernel.renameIntoPlugins(path, as: "libcrafted.so")
        }
    }

    func testSharedObjectWithoutEntrySymbol() throws {
        let source = """
            #include "kn_plugin.h"
            KN_EXPORT int not_a_plugin(void) { return 42; }
            """
        _ = try assertRejected("libnoentry.so", reasonContainsOneOf: ["kn_plugin_entry"]) { kernel in
            try dropBuilt(kernel, source, as: "libnoentry.so")
        }
    }

    func testNewerABIMajor() throws {
        _ = try assertRejected("libmajor.so", reasonContainsOneOf: ["major"]) { kernel in
            try dropBuilt(kernel, pluginSource(abiMajor: "2", name: "\"major\""), as: "libmajor.so")
        }
    }

    func testNewerABIMinor() throws {
        _ = try assertRejected("libminor.so", reasonContainsOneOf: ["minor"]) { kernel in
            try dropBuilt(kernel, pluginSource(abiMinor: "99", name: "\"minor\""), as: "libminor.so")
        }
    }

    func testDescriptorWithoutName() throws {
        _ = try assertRejected("libnoname.so", reasonContainsOneOf: ["name"]) { kernel in
            try dropBuilt(kernel, pluginSource(name: "NULL"), as: "libnoname.so")
        }
    }

    func testDescriptorWithTooSmallStructSize() throws {
        _ = try assertRejected("libtiny.so", reasonContainsOneOf: ["size", "descriptor"]) { kernel in
            try dropBuilt(kernel, pluginSource(structSize: "4", name: "\"tiny\""), as: "libtiny.so")
        }
    }

    func testDuplicatePluginName() throws {
        let kernel = try assertRejected("libgreeter-copy.so", reasonContainsOneOf: ["already loaded", "duplicate"]) { kernel in
            let built = kernel.buildDirectory + "/libgreeter.so"
            try CPluginBuilder.buildGreeter(output: built)
            try kernel.copyIntoPlugins(built, as: "libgreeter.so")
            waitForCall(kernel, "greeter.greet", status: 200)
            try kernel.copyIntoPlugins(built, as: "libgreeter-copy.so")
        }
        // The first copy keeps serving, from its own file.
        let response = try HTTP.call(port: kernel.httpPort, "greeter.greet")
        XCTAssertEqual(response.status, 200, response.summary)
        let greeter = try kernel.adminResult("list").plugin(named: "greeter")
        XCTAssertEqual(greeter?["path"] as? String, kernel.pluginsDirectory + "/libgreeter.so")
    }

    func testMissingRequiredPlugin() throws {
        _ = try assertRejected("libneedy.so", reasonContainsOneOf: ["nonexistent"]) { kernel in
            try dropBuilt(kernel, pluginSource(name: "\"needy\"", dependsOn: "dependencies"), as: "libneedy.so")
        }
    }

    func testInitFailureWithSetError() throws {
        let initBody = """
            kn_endpoint_def def = { .struct_size = sizeof def, .name = "boom.endpoint",
                                        .kind = KN_ENDPOINT_UNARY, .handler = handler };
                host->register_endpoint(self, &def);
                host->set_error(self, "boom");
                return KN_ERR_INTERNAL;
            """
        let kernel = try assertRejected("libboom.so", reasonContainsOneOf: ["boom"]) { kernel in
            try dropBuilt(kernel, pluginSource(name: "\"boom\"", initBody: initBody), as: "libboom.so")
        }
        // Registrations made by a failed init are discarded.
        let response = try HTTP.call(port: kernel.httpPort, "boom.endpoint")
        XCTAssertEqual(response.status, 404, response.summary)
        XCTAssertNil(try kernel.adminResult("list").plugin(named: "boom"))
    }
}
