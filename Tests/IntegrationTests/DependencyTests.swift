import Foundation
import XCTest

/// `depends_on`: plugins load after what they require, whatever the file
/// order; a provider cannot be unloaded under its dependents; a plugin
/// refused for a missing dependency loads once that dependency arrives.
final class DependencyTests: IntegrationTestCase {
    /// A C plugin `name` with one endpoint `<name>.ping`, requiring `requires` (or nothing).
    private func source(name: String, requires: String?) -> String {
        let dependencies = requires.map { "(const char *const[]){\"\($0)\", NULL}" } ?? "NULL"
        return """
        #include "kn_plugin.h"
        #include <string.h>

        static const kn_host_api *host;

        static void ping(void *user_data, kn_call *call) {
            (void)user_data;
            const char *body = "{\\"from\\":\\"\(name)\\"}";
            host->call_respond(call, (kn_bytes){(const uint8_t *)body, strlen(body)}, "application/json");
        }

        static kn_status init(kn_plugin *self) {
            kn_endpoint_def def = {.struct_size = sizeof def, .name = "\(name).ping", .handler = ping};
            return host->register_endpoint(self, &def);
        }

        static const kn_plugin_descriptor descriptor = {
            .struct_size = sizeof(kn_plugin_descriptor),
            .abi_major = KN_ABI_MAJOR,
            .abi_minor = KN_ABI_MINOR,
            .name = "\(name)",
            .version = "1.0.0",
            .depends_on = \(dependencies),
            .init = init,
            .flags = KN_PLUGIN_UNLOAD_SAFE,
        };

        KN_EXPORT const kn_plugin_descriptor *kn_plugin_entry(const kn_host_api *h) {
            host = h;
            return &descriptor;
        }
        """
    }

    func testPluginsLoadAfterWhatTheyRequireAndProvidersStayWhileRequired() throws {
        // Written before the kernel starts; libaa.so sorts first but requires zz.
        let kernel = try KernelProcess()
        defer { kernel.stop() }
        try CPluginBuilder.build(source: source(name: "aa", requires: "zz"), output: kernel.pluginsDirectory + "/libaa.so")
        try CPluginBuilder.build(source: source(name: "zz", requires: nil), output: kernel.pluginsDirectory + "/libzz.so")
        try kernel.start(waitingFor: ["http", "hello", "aa", "zz"])

        let names = (try kernel.adminResult("list")["plugins"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
        let aa = try XCTUnwrap(names.firstIndex(of: "aa"), "\(names)")
        let zz = try XCTUnwrap(names.firstIndex(of: "zz"), "\(names)")
        XCTAssertLessThan(zz, aa, "zz must load before aa, which requires it: \(names)")
        XCTAssertEqual(try HTTP.call(port: kernel.httpPort, "aa.ping").status, 200)

        let refused = try kernelctl(kernel, ["unload", "zz"])
        XCTAssertEqual(refused.status, 1, refused.stdout)
        XCTAssertTrue(refused.stderr.hasPrefix("kernelctl: conflict"), refused.stderr)
        XCTAssertTrue(refused.stderr.contains("aa"), "the error must name the dependent: \(refused.stderr)")
        XCTAssertEqual(try HTTP.call(port: kernel.httpPort, "zz.ping").status, 200, "zz must still serve")

        // Without its dependent, the provider goes.
        XCTAssertEqual(try kernelctl(kernel, ["unload", "aa"]).status, 0)
        XCTAssertEqual(try kernelctl(kernel, ["unload", "zz"]).status, 0)
        XCTAssertEqual(try HTTP.call(port: kernel.httpPort, "zz.ping").status, 404)
    }

    func testAPluginWaitingForItsDependencyLoadsWhenItArrives() throws {
        let kernel = try startKernel()
        let needy = kernel.buildDirectory + "/libneedy.so"
        let later = kernel.buildDirectory + "/liblater.so"
        try CPluginBuilder.build(source: source(name: "needy", requires: "later"), output: needy)
        try CPluginBuilder.build(source: source(name: "later", requires: nil), output: later)

        try kernel.renameIntoPlugins(needy, as: "libneedy.so")
        XCTAssertTrue(waitUntil(timeout: 10) {
            (try? kernel.adminResult("list").rejection(forFile: "libneedy.so"))?["reason"] as? String != nil
        }, "libneedy.so should be refused while 'later' is missing")

        try kernel.renameIntoPlugins(later, as: "liblater.so")
        let served = waitForCall(kernel, "needy.ping", status: 200)
        XCTAssertEqual(served?.json?["from"] as? String, "needy")
        XCTAssertNil(try kernel.adminResult("list").rejection(forFile: "libneedy.so"), "the rejection must be cleared")
    }
}
