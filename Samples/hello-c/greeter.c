/*
 * greeter.c: a kernel plugin in plain C99, against Protocols/kn_plugin.h only.
 *
 * It shows the whole life of a plugin:
 *   1. The kernel dlopens the .so and calls `kn_plugin_entry(host)`: we keep
 *      the host API table and hand back a static descriptor.
 *   2. The kernel checks the descriptor (ABI version, name) and calls `init`:
 *      we read our configuration, log, and register an endpoint and a route.
 *   3. Every call of the endpoint reaches `greet`, which completes it.
 *   4. On unload or reload the kernel drains calls in flight, then calls our
 *      `release` to give back what we gave it as user_data. We set
 *      KN_PLUGIN_UNLOAD_SAFE (the image keeps no runtime state once stop has
 *      returned), so the kernel may dlclose us; this kernel keeps every image
 *      mapped anyway.
 * Every load and reload runs a fresh copy of this file, so the statics below
 * start from zero each time.
 *
 * Build: cc -std=c99 -Wall -Wextra -shared -fPIC -I Protocols -o libgreeter.so Samples/hello-c/greeter.c
 * Knobs: -DPLUGIN_NAME=\"x\" -DENDPOINT_NAME=\"x.greet\" -DGREETING=\"hi\"
 *        -DROUTE_PATH=\"/x\" (or -DNO_ROUTE to register no route).
 */
#include "kn_plugin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef PLUGIN_NAME
#define PLUGIN_NAME "greeter"
#endif
#ifndef ENDPOINT_NAME
#define ENDPOINT_NAME PLUGIN_NAME ".greet"
#endif
#ifndef GREETING
#define GREETING "hello from C"
#endif
#ifndef ROUTE_PATH
#define ROUTE_PATH "/greet"
#endif

/* The host API table: valid until the process exits. */
static const kn_host_api *host;

/* Our per-endpoint state, passed back to every callback as user_data (owned
 * by the kernel until it calls greeter_release): the response body, built
 * once at init. */
typedef struct greeter {
    char *body;
    size_t len;
} greeter;

/* Builds {"greeting":"<text>"} with the text JSON-escaped. NULL on no memory. */
static greeter *greeter_new(const char *text) {
    size_t n = strlen(text);
    greeter *g = malloc(sizeof *g);
    char *out = malloc(n * 6 + 32); /* worst case: every byte as \u00XX */
    if (!g || !out) {
        free(g);
        free(out);
        return NULL;
    }
    size_t j = (size_t)sprintf(out, "{\"greeting\":\"");
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c == '"' || c == '\\') {
            out[j++] = '\\';
            out[j++] = (char)c;
        } else if (c < 0x20) {
            j += (size_t)sprintf(out + j, "\\u%04x", c);
        } else {
            out[j++] = (char)c;
        }
    }
    j += (size_t)sprintf(out + j, "\"}");
    g->body = out;
    g->len = j;
    return g;
}

/* The endpoint's release: the kernel gives back user_data when the endpoint
 * goes away (unload, reload, failed init), on the control thread, after the
 * last call using it has completed. */
static void greeter_release(void *user_data) {
    greeter *g = user_data;
    free(g->body);
    free(g);
}

/* The endpoint's handler: runs on the starter's thread (e.g. an HTTP I/O
 * thread), must not block, and completes the call exactly once. The body is
 * copied by call_respond, so handing it our long-lived buffer is fine. */
static void greet(void *user_data, kn_call *call) {
    const greeter *g = user_data;
    host->call_respond(call, (kn_bytes){(const uint8_t *)g->body, g->len}, "application/json");
}

/* init: runs once per load on the kernel's control thread. Registrations
 * made here go live together when we return KN_OK; any other status discards
 * them all and refuses the plugin (set_error tells the kernel why). `self`
 * is this load's handle, valid until stop returns. */
static kn_status init(kn_plugin *self) {
    /* Configuration: [greeter] greeting=... in the config file, or
     * `--set greeter.greeting=...` on the kernel's command line. */
    const char *configured = host->config_get(self, "greeting");
    const char *text = configured ? configured : GREETING;

    greeter *g = greeter_new(text);
    if (!g) {
        host->set_error(self, "out of memory");
        return KN_ERR_INTERNAL;
    }

    /* Definition structs are copied by the register call. struct_size lets
     * newer kernels know which fields we compiled with. */
    kn_endpoint_def endpoint = {
        .struct_size = sizeof endpoint,
        .name = ENDPOINT_NAME, /* served at POST /api/<name> */
        .kind = KN_ENDPOINT_UNARY,
        .handler = greet,
        .user_data = g,
        .release = greeter_release, /* the kernel gives g back when the endpoint goes */
        .description = "Answers {\"greeting\": ...}",
    };
    kn_status status = host->register_endpoint(self, &endpoint);
    if (status != KN_OK) {
        greeter_release(g); /* not registered: still ours to free */
        host->set_error(self, "cannot register endpoint " ENDPOINT_NAME);
        return status;
    }

#ifndef NO_ROUTE
    /* An HTTP route bound to the endpoint: GET /greet. */
    kn_route_def route = {
        .struct_size = sizeof route, .method = "GET", .path = ROUTE_PATH, .endpoint = ENDPOINT_NAME,
    };
    status = host->register_route(self, &route);
    if (status != KN_OK) {
        host->set_error(self, "cannot register route GET " ROUTE_PATH);
        return status; /* the endpoint registration is discarded, and g released */
    }
#endif

    char line[256];
    snprintf(line, sizeof line, "greeter ready: %s answers \"%.160s\"", ENDPOINT_NAME, text);
    host->log(self, KN_LOG_INFO, line);
    return KN_OK;
}

/* The descriptor: static, so it outlives every use the kernel makes of it. */
static const kn_plugin_descriptor descriptor = {
    .struct_size = sizeof(kn_plugin_descriptor),
    .abi_major = KN_ABI_MAJOR, /* refused by a kernel of another major */
    .abi_minor = KN_ABI_MINOR, /* refused by a kernel older than this minor */
    .name = PLUGIN_NAME,
    .version = "1.0.0",
    .depends_on = NULL, /* e.g. (const char *const[]){"http", NULL} */
    .init = init,
    .start = NULL, /* no background work: no start or stop hooks */
    .stop = NULL,
    .flags = KN_PLUGIN_UNLOAD_SAFE,
    .description = "Sample C plugin: POST /api/" ENDPOINT_NAME " and GET " ROUTE_PATH,
};

/* The one exported symbol; kn_plugin.h declares its prototype, so a
 * mismatched definition does not compile. Called once per load, on the
 * control thread, before init. */
KN_EXPORT const kn_plugin_descriptor *kn_plugin_entry(const kn_host_api *h) {
    if (h->abi_major != KN_ABI_MAJOR) return NULL; /* refuse a kernel we do not speak */
    host = h;
    return &descriptor;
}
