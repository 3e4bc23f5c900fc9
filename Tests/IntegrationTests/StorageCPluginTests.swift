import Foundation
import XCTest

/// A plugin in plain C uses the storage service through kn_storage.h only.
final class StorageCPluginTests: StorageTestCase {
    static let source = #"""
    #include <string.h>
    #include "kn_storage.h"

    static const kn_host_api *host;
    static const kn_storage_api *storage;
    static kn_plugin *self_handle;

    static void on_get(void *user_data, kn_status status, const char *message, const kn_storage_entry *entry) {
        kn_call *call = user_data;
        if (status != KN_OK) { host->call_fail(call, status, message, (kn_bytes){0}); return; }
        if (!entry) { host->call_fail(call, KN_ERR_NOT_FOUND, "written key is missing", (kn_bytes){0}); return; }
        host->call_respond(call, entry->value, "application/json");
    }

    static void on_put(void *user_data, kn_status status, const char *message, const kn_storage_entry *entry) {
        kn_call *call = user_data;
        if (status != KN_OK || entry->version == 0) { host->call_fail(call, status, message, (kn_bytes){0}); return; }
        const char *key = "c-key";
        storage->kv_get(self_handle, NULL, (kn_bytes){(const uint8_t *)key, strlen(key)}, on_get, call);
    }

    /* Stores the body under "c-key" and answers with what a read returns. */
    static void roundtrip(void *user_data, kn_call *call) {
        (void)user_data;
        const char *key = "c-key";
        storage->kv_put(self_handle, NULL, (kn_bytes){(const uint8_t *)key, strlen(key)}, host->call_body(call), 0,
                        on_put, call);
    }

    static kn_status init(kn_plugin *self) {
        uint32_t minor = 0;
        self_handle = self;
        if (host->lookup_service(self, KN_STORAGE_SERVICE, KN_STORAGE_MAJOR, 0, (const void **)&storage, &minor) != KN_OK) {
            host->set_error(self, "no storage service");
            return KN_ERR_UNAVAILABLE;
        }
        kn_endpoint_def def = { .struct_size = sizeof def, .name = "cstore.roundtrip",
                                .kind = KN_ENDPOINT_UNARY, .handler = roundtrip };
        return host->register_endpoint(self, &def);
    }

    static const char *const dependencies[] = { "storage", NULL };
    static const kn_plugin_descriptor descriptor = {
        .struct_size = sizeof(kn_plugin_descriptor), .abi_major = KN_ABI_MAJOR, .abi_minor = KN_ABI_MINOR,
        .name = "cstore", .version = "1.0.0", .depends_on = dependencies, .init = init,
    };

    KN_EXPORT const kn_plugin_descriptor *kn_plugin_entry(const kn_host_api *h) {
        host = h;
        return &descriptor;
    }
    """#

    func testCPluginStoresAndReadsThroughTheHeader() throws {
        let kernel = try startStorageKernel()
        let output = kernel.buildDirectory + "/libcstore.so"
        try CPluginBuilder.build(source: Self.source, output: output)
        try kernel.renameIntoPlugins(output, as: "libcstore.so")
        let response = waitForCall(kernel, "cstore.roundtrip", #"{"from":"c"}"#, status: 200)
        XCTAssertEqual(response?.json?["from"] as? String, "c", response?.summary ?? "")
        // The key is in the C plugin's own namespace.
        let stored = try kernelctl(kernel, ["kv", "get", "cstore", "c-key"])
        XCTAssertEqual(stored.stdout, #"{"from":"c"}"# + "\n", stored.stderr)
    }
}
