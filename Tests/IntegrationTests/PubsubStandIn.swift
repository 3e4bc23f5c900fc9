import Foundation

/// A C plugin named `pubsub` that answers the operator endpoints kernelctl
/// calls with fixed JSON, so `kernelctl events` and `topics` are tested
/// without the real plugin:
///
/// - `pubsub.publish`: `{"offset":42,"id":"evt-42","createdAt":…,"request":<the request body>}`;
/// - `pubsub.stats`: the counters and one consumer;
/// - `pubsub.topics`: two topics.
enum PubsubStandIn {
    static func install(into kernel: KernelProcess) throws {
        let output = kernel.buildDirectory + "/libpubsub.so"
        try CPluginBuilder.build(source: source, output: output)
        try kernel.renameIntoPlugins(output, as: "libpubsub.so")
    }

    static let source = #"""
    #include "kn_plugin.h"
    #include <stdio.h>
    #include <stdlib.h>
    #include <string.h>

    static const kn_host_api *host;

    static void answer(kn_call *call, const char *json) {
        host->call_respond(call, (kn_bytes){(const uint8_t *)json, strlen(json)}, "application/json");
    }

    static void publish(void *user_data, kn_call *call) {
        (void)user_data;
        kn_bytes body = host->call_body(call);
        size_t size = body.len + 128;
        char *json = malloc(size);
        snprintf(json, size, "{\"offset\":42,\"id\":\"evt-42\",\"createdAt\":\"2026-12-01T10:00:00.123Z\",\"request\":%.*s}",
                 (int)body.len, (const char *)body.ptr);
        answer(call, json);
        free(json);
    }

    static void stats(void *user_data, kn_call *call) {
        (void)user_data;
        answer(call, "{\"head\":120,\"oldest\":3,\"stored\":118,\"published\":120,\"delivered\":950,\"subscribers\":4,"
                     "\"dropped\":2,\"disconnected\":1,\"consumers\":[{\"name\":\"billing\",\"owner\":\"orders\","
                     "\"pattern\":\"orders.*\",\"cursor\":117,\"lag\":3,\"dead\":0,\"state\":\"running\"}]}");
    }

    static void topics(void *user_data, kn_call *call) {
        (void)user_data;
        answer(call, "{\"topics\":[{\"topic\":\"orders.created\",\"events\":80,\"firstOffset\":3,\"lastOffset\":120,"
                     "\"lastAt\":\"2026-12-01T10:00:00.123Z\"},{\"topic\":\"audit.login\",\"events\":38,"
                     "\"firstOffset\":5,\"lastOffset\":119,\"lastAt\":\"2026-12-01T09:59:58.001Z\"}]}");
    }

    static kn_status init(kn_plugin *self) {
        const char *names[] = {"pubsub.publish", "pubsub.stats", "pubsub.topics"};
        kn_handler_fn handlers[] = {publish, stats, topics};
        for (int i = 0; i < 3; i++) {
            kn_endpoint_def def = {.struct_size = sizeof def, .name = names[i], .kind = KN_ENDPOINT_UNARY,
                                   .handler = handlers[i]};
            kn_status status = host->register_endpoint(self, &def);
            if (status != KN_OK) return status;
        }
        return KN_OK;
    }

    static const kn_plugin_descriptor descriptor = {
        .struct_size = sizeof(kn_plugin_descriptor),
        .abi_major = KN_ABI_MAJOR,
        .abi_minor = 1,
        .name = "pubsub",
        .version = "0.0.1",
        .init = init,
        .flags = KN_PLUGIN_UNLOAD_SAFE,
    };

    KN_EXPORT const kn_plugin_descriptor *kn_plugin_entry(const kn_host_api *h) {
        host = h;
        return &descriptor;
    }
    """#
}
