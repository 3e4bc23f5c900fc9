/*
 * legacy.c: a plugin written against ABI 1.0 (the kn_plugin.h next to this
 * file, a copy of the 1.0 header), built with
 *
 *     cc -std=c99 -shared -fPIC -I Tests/Fixtures/abi-1.0 -o liblegacy.so legacy.c
 *
 * so that a newer kernel is checked against a plugin whose structs have the
 * 1.0 sizes and field names (`fn`, not `handler`). It uses every kind of
 * registration:
 *
 *   POST /api/legacy.echo      answers the request body
 *   GET  /legacy/items/:id     endpoint legacy.item: {"id":"<param.id>"}
 *   middleware on legacy.*     response metadata "header.x-legacy" = "1"
 *   job legacy.job             counts its runs
 *   events legacy.#            counted
 *   POST /api/legacy.stats     {"jobs":N,"events":M}
 *   POST /api/legacy.trigger   enqueues legacy.job and publishes legacy.ping
 *   POST /api/legacy.count     server stream: {"n":1}, {"n":2}, {"n":3}, then {}
 */
#include "kn_plugin.h"

#include <stdio.h>
#include <string.h>

static const kn_host_api *host;
static kn_plugin *self_handle;
static uint64_t job_runs;
static uint64_t events_seen;

static kn_bytes text(const char *s) {
    kn_bytes bytes;
    bytes.ptr = (const uint8_t *)s;
    bytes.len = strlen(s);
    return bytes;
}

static const kn_bytes no_details = {NULL, 0};

static void respond_json(kn_call *call, const char *json) {
    host->call_respond(call, text(json), "application/json");
}

static void echo(void *user_data, kn_call *call) {
    (void)user_data;
    const char *type = host->call_content_type(call);
    host->call_respond(call, host->call_body(call), type && *type ? type : "application/json");
}

/* {"id":"<param.id>"}, the value JSON-escaped. */
static void item(void *user_data, kn_call *call) {
    (void)user_data;
    kn_bytes id;
    if (!host->call_meta_get(call, "param.id", &id)) {
        host->call_fail(call, KN_ERR_INVALID_ARGUMENT, "no param.id", no_details);
        return;
    }
    char out[1024];
    size_t j = 0;
    j += (size_t)snprintf(out, sizeof out, "{\"id\":\"");
    for (size_t i = 0; i < id.len && j < sizeof out - 16; i++) {
        unsigned char c = id.ptr[i];
        if (c == '"' || c == '\\') {
            out[j++] = '\\';
            out[j++] = (char)c;
        } else if (c < 0x20) {
            j += (size_t)snprintf(out + j, sizeof out - j, "\\u%04x", c);
        } else {
            out[j++] = (char)c;
        }
    }
    j += (size_t)snprintf(out + j, sizeof out - j, "\"}");
    respond_json(call, out);
}

static void mark(void *user_data, kn_call *call) {
    (void)user_data;
    host->call_response_meta_set(call, "header.x-legacy", text("1"));
    host->call_next(call);
}

static void job(void *user_data, kn_call *call) {
    (void)user_data;
    __atomic_fetch_add(&job_runs, 1, __ATOMIC_SEQ_CST);
    respond_json(call, "{}");
}

static void on_event(void *user_data, const kn_event *event) {
    (void)user_data;
    (void)event;
    __atomic_fetch_add(&events_seen, 1, __ATOMIC_SEQ_CST);
}

static void stats(void *user_data, kn_call *call) {
    (void)user_data;
    char out[128];
    snprintf(out, sizeof out, "{\"jobs\":%llu,\"events\":%llu}",
             (unsigned long long)__atomic_load_n(&job_runs, __ATOMIC_SEQ_CST),
             (unsigned long long)__atomic_load_n(&events_seen, __ATOMIC_SEQ_CST));
    respond_json(call, out);
}

static void trigger(void *user_data, kn_call *call) {
    (void)user_data;
    uint64_t id = 0;
    kn_status status = host->job_enqueue(self_handle, "legacy.job", text("{}"), 0, &id);
    if (status != KN_OK) {
        host->call_fail(call, status, "job_enqueue failed", no_details);
        return;
    }
    status = host->publish(self_handle, "legacy.ping", text("{}"));
    if (status != KN_OK) {
        host->call_fail(call, status, "publish failed", no_details);
        return;
    }
    char out[64];
    snprintf(out, sizeof out, "{\"job_id\":%llu}", (unsigned long long)id);
    respond_json(call, out);
}

static void count(void *user_data, kn_call *call) {
    (void)user_data;
    static const char *const items[] = {"{\"n\":1}", "{\"n\":2}", "{\"n\":3}"};
    for (int i = 0; i < 3; i++) {
        kn_status status = host->call_send(call, text(items[i]));
        if (status != KN_OK) {
            host->call_fail(call, status, "call_send failed", no_details);
            return;
        }
    }
    respond_json(call, "{}");
}

static kn_status endpoint(kn_plugin *self, const char *name, uint32_t kind, kn_handler_fn handler) {
    kn_endpoint_def def;
    memset(&def, 0, sizeof def);
    def.struct_size = sizeof def;
    def.name = name;
    def.kind = kind;
    def.handler = handler;
    return host->register_endpoint(self, &def);
}

static kn_status init(kn_plugin *self) {
    kn_status status;
    self_handle = self;
    if ((status = endpoint(self, "legacy.echo", KN_ENDPOINT_UNARY, echo)) != KN_OK) return status;
    if ((status = endpoint(self, "legacy.item", KN_ENDPOINT_UNARY, item)) != KN_OK) return status;
    if ((status = endpoint(self, "legacy.stats", KN_ENDPOINT_UNARY, stats)) != KN_OK) return status;
    if ((status = endpoint(self, "legacy.trigger", KN_ENDPOINT_UNARY, trigger)) != KN_OK) return status;
    if ((status = endpoint(self, "legacy.count", KN_ENDPOINT_SERVER_STREAM, count)) != KN_OK) return status;

    kn_route_def route = {sizeof(kn_route_def), "GET", "/legacy/items/:id", "legacy.item"};
    if ((status = host->register_route(self, &route)) != KN_OK) return status;

    kn_middleware_def middleware;
    memset(&middleware, 0, sizeof middleware);
    middleware.struct_size = sizeof middleware;
    middleware.name = "legacy.mark";
    middleware.order = 0;
    middleware.endpoints = "legacy.*";
    middleware.fn = mark;
    if ((status = host->register_middleware(self, &middleware)) != KN_OK) return status;

    kn_job_def job_def;
    memset(&job_def, 0, sizeof job_def);
    job_def.struct_size = sizeof job_def;
    job_def.name = "legacy.job";
    job_def.handler = job;
    if ((status = host->register_job(self, &job_def)) != KN_OK) return status;

    kn_event_handler_def events;
    memset(&events, 0, sizeof events);
    events.struct_size = sizeof events;
    events.pattern = "legacy.#";
    events.fn = on_event;
    return host->register_event_handler(self, &events);
}

static const kn_plugin_descriptor descriptor = {
    sizeof(kn_plugin_descriptor), /* struct_size: the 1.0 size */
    KN_ABI_MAJOR,                 /* 1 */
    KN_ABI_MINOR,                 /* 0 */
    "legacy",
    "1.0.0",
    NULL,                         /* depends_on */
    init,
    NULL,                         /* start */
    NULL,                         /* stop */
    KN_PLUGIN_UNLOAD_SAFE,
    "A plugin built against ABI 1.0",
};

KN_EXPORT const kn_plugin_descriptor *kn_plugin_entry(const kn_host_api *h) {
    host = h;
    return &descriptor;
}
