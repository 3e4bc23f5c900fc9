import Foundation

/// A C plugin `rawsse` whose streaming endpoints frame their own items
/// (response metadata `stream.raw` = `1`), built from the source below:
///
/// | endpoint | route | what it does |
/// |---|---|---|
/// | `rawsse.events` | | two Server-Sent Events with its own ids 5 and 6, then succeeds |
/// | `rawsse.octets` | | no content type: items `ab` and `cd` |
/// | `rawsse.fail_after` | | one event, then fails (`unavailable`) |
/// | `rawsse.fail_before` | | fails (`forbidden`) before any item |
/// | `rawsse.echo` | `GET /rawsse/echo` | one event whose data is `<header.last-event-id>\|<http.query>` |
enum RawStreamFixture {
    static let eventFive = "id: 5\nevent: x\ndata: {}\n\n"
    static let eventSix = "id: 6\nevent: x\ndata: {\"n\":2}\n\n"

    /// Builds the plugin and moves it into `kernel`'s plugins directory.
    static func install(into kernel: KernelProcess) throws {
        let output = kernel.buildDirectory + "/librawsse.so"
        try CPluginBuilder.build(source: source, output: output)
        try kernel.renameIntoPlugins(output, as: "librawsse.so")
    }

    static let source = #"""
    #include "kn_plugin.h"
    #include <stdio.h>
    #include <string.h>

    static const kn_host_api *host;

    enum mode { EVENTS, OCTETS, FAIL_AFTER, FAIL_BEFORE, ECHO };
    static const enum mode modes[] = {EVENTS, OCTETS, FAIL_AFTER, FAIL_BEFORE, ECHO};
    static const char *const names[] = {"rawsse.events", "rawsse.octets", "rawsse.fail_after",
                                        "rawsse.fail_before", "rawsse.echo"};

    static kn_bytes text(const char *s) { return (kn_bytes){(const uint8_t *)s, strlen(s)}; }

    static const char *meta(kn_call *call, const char *key, char *out, size_t size) {
        kn_bytes value = {0};
        out[0] = 0;
        if (host->call_meta_get(call, key, &value) && value.ptr)
            snprintf(out, size, "%.*s", (int)value.len, (const char *)value.ptr);
        return out;
    }

    static void stream(void *user_data, kn_call *call) {
        enum mode mode = *(const enum mode *)user_data;
        host->call_response_meta_set(call, "stream.raw", text("1"));
        if (mode != OCTETS) host->call_response_meta_set(call, "header.content-type", text("text/event-stream"));
        switch (mode) {
        case EVENTS:
            host->call_send(call, text("id: 5\nevent: x\ndata: {}\n\n"));
            host->call_send(call, text("id: 6\nevent: x\ndata: {\"n\":2}\n\n"));
            break;
        case OCTETS:
            host->call_send(call, text("ab"));
            host->call_send(call, text("cd"));
            break;
        case FAIL_AFTER:
            host->call_send(call, text("id: 5\nevent: x\ndata: {}\n\n"));
            host->call_fail(call, KN_ERR_UNAVAILABLE, "store gone", (kn_bytes){0});
            return;
        case FAIL_BEFORE:
            host->call_fail(call, KN_ERR_FORBIDDEN, "not your topic", (kn_bytes){0});
            return;
        case ECHO: {
            char id[128], query[256], event[512];
            meta(call, "header.last-event-id", id, sizeof id);
            meta(call, "http.query", query, sizeof query);
            snprintf(event, sizeof event, "id: 7\nevent: echo\ndata: %s|%s\n\n", id, query);
            host->call_send(call, text(event));
            break;
        }
        }
        host->call_respond(call, text("{}"), "application/json");
    }

    static kn_status init(kn_plugin *self) {
        for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
            kn_endpoint_def def = {.struct_size = sizeof def, .name = names[i], .kind = KN_ENDPOINT_SERVER_STREAM,
                                   .handler = stream, .user_data = (void *)&modes[i]};
            kn_status status = host->register_endpoint(self, &def);
            if (status != KN_OK) return status;
        }
        kn_route_def route = {.struct_size = sizeof route, .method = "GET", .path = "/rawsse/echo",
                              .endpoint = "rawsse.echo"};
        return host->register_route(self, &route);
    }

    static const kn_plugin_descriptor descriptor = {
        .struct_size = sizeof(kn_plugin_descriptor),
        .abi_major = KN_ABI_MAJOR,
        .abi_minor = 1,
        .name = "rawsse",
        .version = "1.0.0",
        .init = init,
        .flags = KN_PLUGIN_UNLOAD_SAFE,
    };

    KN_EXPORT const kn_plugin_descriptor *kn_plugin_entry(const kn_host_api *h) {
        host = h;
        return &descriptor;
    }
    """#
}
