import Foundation
import XCTest

/// What a plugin written from the header alone gets of ABI 1.4: a request
/// schema the guard plugin enforces, an error handler that rewrites failures,
/// and a schema that is not JSON refused at registration with the reason.
final class CMiddlewareTests: MiddlewareTestCase {
    static let source = #"""
    #include "kn_plugin.h"
    #include <stdio.h>
    #include <string.h>

    static const kn_host_api *host;

    static void order(void *user_data, kn_call *call) {
        (void)user_data;
        const char *ok = "{\"ok\":true}";
        host->call_respond(call, (kn_bytes){ (const uint8_t *)ok, strlen(ok) }, "application/json");
    }

    static void fail(void *user_data, kn_call *call) {
        (void)user_data;
        host->call_fail(call, KN_ERR_CONFLICT, "stock changed", (kn_bytes){ 0, 0 });
    }

    /* Every failed call: name the endpoint and the request id in the message. */
    static void on_error(void *user_data, kn_call *call, const kn_error_info *error) {
        (void)user_data;
        if (error->status != KN_ERR_CONFLICT) return;
        kn_bytes id = { 0, 0 };
        host->call_meta_get(call, "request.id", &id);
        char message[256];
        int length = snprintf(message, sizeof message, "%s failed (request %.*s): %.*s", host->call_endpoint(call),
                              (int)id.len, (const char *)id.ptr, (int)error->message.len, (const char *)error->message.ptr);
        host->call_error_rewrite(call, (kn_bytes){ (const uint8_t *)message, (size_t)length }, (kn_bytes){ 0, 0 });
    }

    static kn_status init(kn_plugin *self) {
        kn_endpoint_def def = { .struct_size = sizeof(kn_endpoint_def), .name = "c.order", .kind = KN_ENDPOINT_UNARY,
            .handler = order, .flags = 0,
            .request_schema = SCHEMA };
        kn_status status = host->register_endpoint(self, &def);
        if (status != KN_OK) return status;
        kn_endpoint_def failing = { .struct_size = sizeof(kn_endpoint_def), .name = "c.fail", .kind = KN_ENDPOINT_UNARY,
            .handler = fail };
        host->register_endpoint(self, &failing);
        kn_error_handler_def errors = { .struct_size = sizeof(kn_error_handler_def), .name = "c.errors", .handler = on_error };
        return host->register_error_handler(self, &errors);
    }

    static kn_status start(kn_plugin *self) { (void)self; return KN_OK; }
    static void stop(kn_plugin *self) { (void)self; }

    static const kn_plugin_descriptor descriptor = {
        .struct_size = sizeof(kn_plugin_descriptor), .abi_major = KN_ABI_MAJOR, .abi_minor = KN_ABI_MINOR,
        .name = "corder", .version = "1.0.0", .init = init, .start = start, .stop = stop,
    };

    KN_EXPORT const kn_plugin_descriptor *kn_plugin_entry(const kn_host_api *h) { host = h; return &descriptor; }
    """#

    static let schema = #"{"type":"object","required":["sku","qty"],"properties":{"sku":{"type":"string","pattern":"^[A-Z]{3}-[0-9]+$"},"qty":{"type":"integer","minimum":1}}}"#

    private func cString(_ text: String) -> String {
        "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }

    func testACPluginsSchemaIsEnforcedAndItsErrorHandlerRewrites() throws {
        let stack = try startStack()
        let built = stack.kernel.buildDirectory + "/libcorder.so"
        try CPluginBuilder.build(source: Self.source, output: built, defines: ["SCHEMA=\(cString(Self.schema))"])
        try stack.kernel.renameIntoPlugins(built, as: "libcorder.so")
        let good = waitForCall(stack.kernel, "c.order", #"{"sku":"ABC-1","qty":2}"#, status: 200)
        XCTAssertEqual(good?.json?["ok"] as? Bool, true)

        let bad = try HTTP.call(port: stack.http, "c.order", #"{"sku":"abc","qty":0}"#)
        XCTAssertEqual(bad.status, 422, bad.summary)
        let fields = ((bad.json?["error"] as? [String: Any])?["details"] as? [String: Any])?["fields"] as? [[String: String]] ?? []
        XCTAssertEqual(Set(fields.compactMap { $0["field"] }), ["/sku", "/qty"], bad.summary)

        let failed = try HTTP.call(port: stack.http, "c.fail", headers: [("X-Request-Id", "c-77")])
        XCTAssertEqual(failed.status, 409, failed.summary)
        XCTAssertEqual((failed.json?["error"] as? [String: Any])?["message"] as? String, "c.fail failed (request c-77): stock changed")

        // The schema is listed for API documents.
        let endpoints = try stack.kernel.adminResult("endpoints")
        let entry = (endpoints["endpoints"] as? [[String: Any]])?.first { $0["name"] as? String == "c.order" }
        XCTAssertEqual((entry?["request_schema"] as? [String: Any])?["required"] as? [String], ["sku", "qty"])
    }

    func testASchemaThatIsNotJSONIsRefusedWithTheReason() throws {
        let stack = try startStack()
        let built = stack.kernel.buildDirectory + "/libcorder.so"
        try CPluginBuilder.build(source: Self.source, output: built, defines: ["SCHEMA=\(cString("{\"type\": "))"])
        try stack.kernel.renameIntoPlugins(built, as: "libcorder.so")
        var reason = ""
        XCTAssertTrue(waitUntil(timeout: 10) {
            reason = (try? stack.kernel.adminResult("list"))?.rejection(forFile: "libcorder.so")?["reason"] as? String ?? ""
            return !reason.isEmpty
        })
        XCTAssertTrue(reason.contains("request schema is not valid JSON"), reason)
        XCTAssertEqual(try HTTP.call(port: stack.http, "probe.public").status, 200)
    }
}
