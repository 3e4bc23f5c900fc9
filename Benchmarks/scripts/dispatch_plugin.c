/* The plugin the dispatch micro-benchmark calls: three middleware that pass
 * the call on, and an endpoint that answers a constant, all in plain C so the
 * measurement is the kernel's path and not the plugin's work. */
#include "kn_plugin.h"

static const kn_host_api *host;
static const uint8_t answer[] = "{\"message\":\"hello\"}";

static void pass(void *user_data, kn_call *call) {
    (void)user_data;
    host->call_next(call);
}

static void hello(void *user_data, kn_call *call) {
    (void)user_data;
    host->call_respond(call, (kn_bytes){answer, sizeof answer - 1}, "application/json");
}

static kn_status init(kn_plugin *self) {
    static const char *const names[] = {"first", "second", "third"};
    for (int i = 0; i < 3; i++) {
        kn_middleware_def m = {.struct_size = sizeof m, .name = names[i], .order = i, .handler = pass};
        kn_status status = host->register_middleware(self, &m);
        if (status != KN_OK) return status;
    }
    kn_endpoint_def e = {.struct_size = sizeof e, .name = "dispatch.hello", .kind = KN_ENDPOINT_UNARY, .handler = hello};
    return host->register_endpoint(self, &e);
}

static const kn_plugin_descriptor descriptor = {
    .struct_size = sizeof(kn_plugin_descriptor),
    .abi_major = KN_ABI_MAJOR,
    .abi_minor = KN_ABI_MINOR,
    .name = "dispatch",
    .version = "1.0.0",
    .init = init,
    .flags = KN_PLUGIN_UNLOAD_SAFE,
};

KN_EXPORT const kn_plugin_descriptor *kn_plugin_entry(const kn_host_api *h) {
    host = h;
    return &descriptor;
}
