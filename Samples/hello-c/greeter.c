/*
 * greeter.c: a kernel plugin in plain C99, against Protocols/kn_plugin.h only.
 *
 * It shows the whole life of a plugin:
 *   1. The kernel dlopens the .so and calls `kn_plugin_entry(host)`: we keep
 *      the host API table and hand back a static descriptor.
 *   2. The kernel checks the descriptor (ABI version, name) and calls `init`:
 *      we read our configuration, log, and register an endpoint, a route, and
 *      a job with an endpoint that queues it (durably when the scheduler runs).
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
/* This load's handle, from init; valid until stop returns. */
static kn_plugin *plugin_self;

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

/* A job: background work the kernel runs for us, durably when the scheduler
 * plugin is loaded. Its handler runs on a job thread and completes the call
 * like an endpoint's; a failure is retried. Here it only counts its runs. */
static unsigned long tallies;

static void tally(void *user_data, kn_call *call) {
    (void)user_data;
    kn_bytes attempt = {0};
    host->call_meta_get(call, "job.attempt", &attempt); /* "1" on the first run */
    char line[96];
    snprintf(line, sizeof line, "tally job ran (attempt %.*s), %lu so far", (int)attempt.len,
             (const char *)attempt.ptr, ++tallies);
    host->log(plugin_self, KN_LOG_DEBUG, line);
    host->call_respond(call, (kn_bytes){(const uint8_t *)"{}", 2}, "application/json");
}

/* The completion of job_submit: runs once, on any thread, when the job is
 * stored (or refused). `user_data` is the call of the endpoint below, which
 * we complete here with the job's id. */
static void tally_queued(void *user_data, kn_status status, uint64_t job_id, const char *message) {
    kn_call *call = user_data;
    if (status != KN_OK) {
        host->call_fail(call, status, message, (kn_bytes){0});
        return;
    }
    char body[48];
    int n = snprintf(body, sizeof body, "{\"job_id\":%llu}", (unsigned long long)job_id);
    host->call_respond(call, (kn_bytes){(const uint8_t *)body, (size_t)n}, "application/json");
}

/* POST /api/<name>.later: queues the tally job and answers with its id.
 * job_submit (ABI 1.2) never blocks; on an older kernel, job_enqueue. */
static void later(void *user_data, kn_call *call) {
    (void)user_data;
    kn_bytes payload = {(const uint8_t *)"{}", 2};
    if (KN_HOST_HAS(host, job_submit)) {
        if (host->job_submit(plugin_self, PLUGIN_NAME ".tally", payload, NULL, tally_queued, call) != KN_OK)
            host->call_fail(call, KN_ERR_NOT_FOUND, "the tally job is not registered", (kn_bytes){0});
        return;
    }
    uint64_t id = 0;
    kn_status status = host->job_enqueue(plugin_self, PLUGIN_NAME ".tally", payload, 0, &id);
    tally_queued(call, status, id, "cannot enqueue");
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

    /* The job, and the endpoint that queues it. */
    plugin_self = self;
    kn_job_def job = {.struct_size = sizeof job, .name = PLUGIN_NAME ".tally", .handler = tally, .max_attempts = 3};
    kn_endpoint_def queue = {.struct_size = sizeof queue, .name = PLUGIN_NAME ".later", .kind = KN_ENDPOINT_UNARY,
                             .handler = later, .description = "Queues the tally job; answers {\"job_id\": N}"};
    if ((status = host->register_job(self, &job)) != KN_OK || (status = host->register_endpoint(self, &queue)) != KN_OK) {
        host->set_error(self, "cannot register the tally job");
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
