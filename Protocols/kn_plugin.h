/*
 * kn_plugin.h: the stable C ABI between the kernel and its plugins, version 1.4.
 *
 * This header is all a plugin needs. Read it top to bottom:
 *
 *   1. Conventions: the words below, status codes, byte slices, handles.
 *   2. The entry point and the plugin descriptor a plugin returns.
 *   3. Registrations: endpoints, HTTP routes, middleware, transports, jobs,
 *      event handlers, services.
 *   4. Calls: how a handler reads a request and completes it, how a transport
 *      or a plugin starts a call.
 *   5. The host API table: every function the kernel offers.
 *
 * The smallest plugin, complete:
 *
 *   --- example: hello.c ---
 *     #include <string.h>
 *     #include "kn_plugin.h"
 *
 *     static const kn_host_api *host;
 *
 *     static void hello(void *user_data, kn_call *call) {
 *         const char *body = "{\"message\":\"hello\"}";
 *         (void)user_data;
 *         host->call_respond(call, (kn_bytes){(const uint8_t *)body, strlen(body)},
 *                            "application/json");
 *     }
 *     static kn_status init(kn_plugin *self) {
 *         kn_endpoint_def def = { .struct_size = sizeof def, .name = "hello",
 *                                 .kind = KN_ENDPOINT_UNARY, .handler = hello };
 *         return host->register_endpoint(self, &def);
 *     }
 *     static const kn_plugin_descriptor descriptor = {
 *         .struct_size = sizeof(kn_plugin_descriptor),
 *         .abi_major = KN_ABI_MAJOR, .abi_minor = KN_ABI_MINOR,
 *         .name = "hello", .version = "1.0.0", .init = init,
 *         .flags = KN_PLUGIN_UNLOAD_SAFE,
 *     };
 *     KN_EXPORT const kn_plugin_descriptor *kn_plugin_entry(const kn_host_api *h) {
 *         host = h;
 *         return &descriptor;
 *     }
 *   --- end of example ---
 *
 * Build: cc -std=c99 -Wall -Wextra -shared -fPIC -I Protocols -o libhello.so hello.c
 *
 * ---------------------------------------------------------------------------
 * Words used at every function
 *
 *   callback     A function pointer one side hands the other, to be called
 *                later: a plugin's handlers, its on_* functions and its
 *                release functions, a starter's kn_call_callbacks, a service's
 *                completion (`done`). Each says on which thread it runs.
 *   handler      The callback that serves a registration: an endpoint's, a
 *                job's, a middleware's, an event pattern's. Its field is
 *                always named `handler`.
 *   starter      Whoever started a call (call_new ... call_dispatch, or
 *                job_run): a transport, a plugin, or the kernel itself.
 *   complete     To end a call with call_respond or call_fail: exactly once.
 *   borrowed     Valid only while the function that passed it runs, or for
 *                the span named ("borrowed until completion"). Read it there,
 *                copy what you keep, never free it. Everything the kernel
 *                hands a plugin is borrowed, unless it says owned.
 *   copied       The receiver copies the data before the function returns;
 *                the giver may free or reuse its buffer right after.
 *                Everything a plugin hands a host function is copied, unless
 *                the function says otherwise.
 *   owned by X until F
 *                X holds it and gives it back by calling F, named every time;
 *                nobody uses it after F. "A new call is owned by the caller
 *                until call_release". "user_data is owned by the kernel until
 *                it calls release": the plugin frees it in release, not
 *                before.
 *   any thread   A host function: callable from any thread, concurrently.
 *                A callback: may run on any thread, concurrently with the
 *                plugin's other code.
 *   control thread
 *                The kernel's one thread on which every load, unload and
 *                reload runs, one at a time. kn_plugin_entry, init, start,
 *                stop and release run there. A host function marked "control
 *                thread" may be called only while init, start or stop runs:
 *                on that thread, or on a thread it waits for before it
 *                returns (the Swift SDK runs its async hooks so).
 *   the call's thread
 *                The thread that has a call at that moment; a call has one
 *                at a time: its starter until call_dispatch, then each
 *                middleware and the handler in turn (a handler that
 *                completes later takes the call along to the thread it
 *                completes from). A host function marked so may be called
 *                only there.
 *
 * Memory is never freed across the boundary with the other side's
 * allocator: every buffer the kernel hands out is released by the kernel,
 * every buffer a plugin hands in is copied or stays the plugin's.
 *
 * Nothing unwinds across the boundary: C++ exceptions, Swift errors and Rust
 * panics must be caught inside the plugin. Errors are values (kn_status plus
 * a message and JSON details).
 *
 * Structs a side passes to the other begin with `struct_size`, set to
 * sizeof(the struct) as the sender compiled it. Structs only ever grow at the
 * end (fields are appended, never moved or removed), so a newer kernel reads
 * an older plugin's struct by its size and treats missing fields as zero.
 * ------------------------------------------------------------------------- */
#ifndef KN_PLUGIN_H
#define KN_PLUGIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ======================================================================== */
/* 1. Conventions                                                          */
/* ======================================================================== */

/* A plugin built against major M minor N loads on a kernel of major M and
 * minor >= N. A different major, or a newer minor, is refused at load.
 * 1.1 added kn_endpoint_def.on_ready and host->call_ready (streams).
 * 1.2 added durable jobs and schedules: kn_job_options, kn_schedule_def,
 * kn_job_def.on_cancel, host->job_submit, call_set_job, register_schedule
 * and schedules_list.
 * 1.3 added events with a context: kn_event_context, kn_publish_options,
 * kn_event.offset and kn_event.context, host->publish_event; and
 * host->call_response_meta_get.
 * 1.4 added what middleware needs: kn_endpoint_def.request_schema,
 * response_schema and flags; kn_job_options.request_id; error handlers
 * (kn_error_handler_def, host->register_error_handler,
 * call_error_rewrite); host->call_log; the events "kernel.started" and
 * "kernel.stopping". */
#define KN_ABI_MAJOR 1
#define KN_ABI_MINOR 4

/* The one symbol every plugin exports. */
#define KN_ENTRY_SYMBOL "kn_plugin_entry"

#if defined(__GNUC__) || defined(__clang__)
#define KN_EXPORT __attribute__((visibility("default")))
#else
#define KN_EXPORT
#endif

/* Status codes. Every transport maps them to its protocol (HTTP status in
 * brackets); the names are the `code` strings of JSON error bodies.
 * kn_status_name and kn_status_http below return both. */
typedef int32_t kn_status;
#define KN_OK                     0  /* ok                 [200] */
#define KN_ERR_INVALID_ARGUMENT   1  /* invalid_argument   [400] */
#define KN_ERR_NOT_FOUND          2  /* not_found          [404] */
#define KN_ERR_VALIDATION         3  /* validation         [422] details: {"fields":[{"field","message"}]} */
#define KN_ERR_CONFLICT           4  /* conflict           [409] */
#define KN_ERR_UNAUTHORIZED       5  /* unauthorized       [401] */
#define KN_ERR_FORBIDDEN          6  /* forbidden          [403] */
#define KN_ERR_RATE_LIMITED       7  /* rate_limited       [429] */
#define KN_ERR_TOO_LARGE          8  /* too_large          [413] */
#define KN_ERR_TIMEOUT            9  /* timeout            [504] */
#define KN_ERR_UNAVAILABLE       10  /* unavailable        [503] */
#define KN_ERR_CANCELLED         11  /* cancelled          [499] */
#define KN_ERR_INTERNAL          12  /* internal           [500] */
#define KN_ERR_METHOD_NOT_ALLOWED 13 /* method_not_allowed [405] */
#define KN_ERR_ALREADY_COMPLETED 14  /* already_completed  [500] a call was completed twice; the second is ignored */

/* The name of a status ("ok", "invalid_argument", ...; "internal" for a
 * code not listed above). A static string. Any thread. */
static inline const char *kn_status_name(kn_status status) {
    switch (status) {
    case KN_OK: return "ok";
    case KN_ERR_INVALID_ARGUMENT: return "invalid_argument";
    case KN_ERR_NOT_FOUND: return "not_found";
    case KN_ERR_VALIDATION: return "validation";
    case KN_ERR_CONFLICT: return "conflict";
    case KN_ERR_UNAUTHORIZED: return "unauthorized";
    case KN_ERR_FORBIDDEN: return "forbidden";
    case KN_ERR_RATE_LIMITED: return "rate_limited";
    case KN_ERR_TOO_LARGE: return "too_large";
    case KN_ERR_TIMEOUT: return "timeout";
    case KN_ERR_UNAVAILABLE: return "unavailable";
    case KN_ERR_CANCELLED: return "cancelled";
    case KN_ERR_INTERNAL: return "internal";
    case KN_ERR_METHOD_NOT_ALLOWED: return "method_not_allowed";
    case KN_ERR_ALREADY_COMPLETED: return "already_completed";
    default: return "internal";
    }
}

/* The HTTP status of a status code (the number in brackets above; 500 for
 * KN_ERR_ALREADY_COMPLETED and for a code not listed). Any thread. */
static inline int kn_status_http(kn_status status) {
    switch (status) {
    case KN_OK: return 200;
    case KN_ERR_INVALID_ARGUMENT: return 400;
    case KN_ERR_NOT_FOUND: return 404;
    case KN_ERR_VALIDATION: return 422;
    case KN_ERR_CONFLICT: return 409;
    case KN_ERR_UNAUTHORIZED: return 401;
    case KN_ERR_FORBIDDEN: return 403;
    case KN_ERR_RATE_LIMITED: return 429;
    case KN_ERR_TOO_LARGE: return 413;
    case KN_ERR_TIMEOUT: return 504;
    case KN_ERR_UNAVAILABLE: return 503;
    case KN_ERR_CANCELLED: return 499;
    case KN_ERR_INTERNAL: return 500;
    case KN_ERR_METHOD_NOT_ALLOWED: return 405;
    default: return 500;
    }
}

/* A byte slice. Whether `ptr` is borrowed or copied is said where it is
 * used. Text is UTF-8 and not NUL-terminated. An empty slice may have a NULL
 * `ptr`. */
typedef struct kn_bytes {
    const uint8_t *ptr;
    size_t len;
} kn_bytes;

/* Opaque handles, made and freed by the kernel. */
typedef struct kn_plugin kn_plugin; /* one load of a plugin: `self` of init, valid until its stop returns */
typedef struct kn_call kn_call;     /* one call of an endpoint or a job */

typedef struct kn_host_api kn_host_api;

/* Log levels for host->log. */
#define KN_LOG_TRACE 0
#define KN_LOG_DEBUG 1
#define KN_LOG_INFO  2
#define KN_LOG_WARN  3
#define KN_LOG_ERROR 4

/* Callback: gives back a registration's user_data when the registration is
 * removed (unload, reload, or a failed init), so the plugin can free it.
 * Control thread, after the last callback that uses user_data has returned.
 * If the drain timed out with calls still running, release is not called:
 * the data is leaked rather than freed under a running call. A registration
 * without release: the kernel just forgets the pointer. */
typedef void (*kn_release_fn)(void *user_data);

/* ======================================================================== */
/* 2. Entry point and descriptor                                           */
/* ======================================================================== */

/* Plugin flags.
 *
 * KN_PLUGIN_UNLOAD_SAFE: the image keeps no runtime state once stop has
 * returned, so the kernel may dlclose it. Set it only then: no thread of the
 * image still running, no thread-local with a destructor, no atexit handler,
 * nothing registered with a language runtime. When in doubt leave it unset:
 * the cost is the image's memory until the process exits.
 *   - Plain C: usually safe.
 *   - Swift, and C++ with static destructors or thread_local objects: unset.
 *   - Go (-buildmode=c-shared): never set it; Go's runtime can never be
 *     unloaded.
 *   - Rust (cdylib): only with no thread-locals with destructors, no spawned
 *     thread still running, and no global allocator or async runtime state
 *     left once stop has returned.
 * This kernel opens every image RTLD_NODELETE, so dlclose drops its
 * reference but the code stays mapped: today the flag saves no memory. */
#define KN_PLUGIN_UNLOAD_SAFE 0x1u

typedef struct kn_plugin_descriptor {
    uint32_t struct_size;      /* sizeof(kn_plugin_descriptor) */
    uint16_t abi_major;        /* KN_ABI_MAJOR */
    uint16_t abi_minor;        /* KN_ABI_MINOR */
    const char *name;          /* unique plugin name: [a-z0-9_-]{1,64} */
    const char *version;       /* free text, e.g. "1.2.0" */
    const char *const *depends_on; /* NULL-terminated names of plugins loaded before this one; may be NULL */

    /* Register everything. Control thread. Registrations made here become
     * visible together when init returns KN_OK; on any other status they are
     * all discarded and the plugin is refused (host->set_error says why).
     * KN_ERR_UNAVAILABLE (from init or start) means "something I need is not
     * up yet" (a database): the kernel loads the file again later, after 1 s,
     * doubling up to 30 s, about 20 minutes in all.
     * `self` is this load's handle: keep it. Handlers on any thread pass it
     * to publish, job_enqueue, metric_add, log and every host function that
     * takes a kn_plugin *. It is valid until stop returns. */
    kn_status (*init)(kn_plugin *self);
    /* Optional. Start background work (listening, timers). Control thread,
     * after the registrations are live. Non-OK: the registrations are
     * withdrawn (on a reload, the old version's come back), then stop runs,
     * so stop must cope with a partial start. */
    kn_status (*start)(kn_plugin *self);
    /* Optional. Stop background work, close sockets, join threads. Control
     * thread, after calls in flight have drained (or the drain timed out).
     * May block, but should return within the kernel's drain timeout. */
    void (*stop)(kn_plugin *self);

    uint32_t flags;            /* KN_PLUGIN_* */
    const char *description;   /* optional, one line */
} kn_plugin_descriptor;

/* The entry point `kn_plugin_entry`, the one symbol a plugin exports. Called
 * once per load, on the control thread, before init. `host` is valid until
 * the process exits: keep it. The returned descriptor and every string it
 * points to must stay valid until stop returns (a static const is the usual
 * choice). Return NULL to refuse loading.
 *
 * Every load, and every reload, runs a fresh copy of the image: the kernel
 * copies the file to a new path (<data>/images/<name>-g<generation>.so) and
 * opens that, so the image's globals and statics start from zero on every
 * load and reload, and an old version's globals are not the new one's. Pass
 * state across a reload through storage or files, not through globals. */
typedef const kn_plugin_descriptor *(*kn_plugin_entry_fn)(const kn_host_api *host);

/* The prototype a plugin's definition is checked against: a definition of
 * another type does not compile. A host that embeds this header defines
 * KN_NO_ENTRY_PROTOTYPE before including it. */
#ifndef KN_NO_ENTRY_PROTOTYPE
KN_EXPORT const kn_plugin_descriptor *kn_plugin_entry(const kn_host_api *host);
#endif

/* ======================================================================== */
/* 3. Registrations                                                        */
/* ======================================================================== */
/*
 * Every registration belongs to the plugin that made it: unload removes
 * them all. Names of endpoints, jobs and services are global; registering a
 * name another plugin owns fails with KN_ERR_CONFLICT. When a plugin is
 * reloaded, the new version's registrations replace the old version's, and
 * new calls go to the new version at once. (Reloading from another file:
 * Protocols/admin-protocol.md, operation `reload`.)
 *
 * Definition structs are copied, with every string in them, during the
 * register call. Function pointers and user_data are kept: user_data is
 * owned by the kernel until it calls the registration's release.
 */

/* Handler of an endpoint or a job. Runs on the thread that dispatched the
 * call: the starter's (a transport's I/O thread, usually), or the thread of
 * the middleware that passed it on; job handlers run on the kernel's job
 * threads. It must not block. It completes the call exactly once
 * (call_respond or call_fail), before returning (the fast path) or later
 * from any thread. `call` is borrowed until completion. */
typedef void (*kn_handler_fn)(void *user_data, kn_call *call);

/* Callback, bidirectional streams: one item sent by the client. On the
 * thread of the starter's call_push, in order, one at a time per call.
 * `item` is borrowed. An empty item (len 0) means the client has no more
 * items (the ws and tcp transports send one for the envelope's `end`);
 * items themselves are never empty. */
typedef void (*kn_item_fn)(void *user_data, kn_call *call, kn_bytes item);

/* Callback: the call was cancelled (client gone, stream cancelled, or
 * timeout). Any thread, at most once per call, and only once the handler
 * has the call (a call cancelled while in its middleware fails with
 * KN_ERR_CANCELLED when it reaches the handler, which then never sees it).
 * The handler should stop and complete the call (call_fail with
 * KN_ERR_CANCELLED); call_send now returns KN_ERR_CANCELLED.
 * Deadlines: past its deadline (`[kernel] call_timeout_ms`, `timeouts`, or
 * the client's `x-timeout-ms`) the kernel completes the call with
 * KN_ERR_TIMEOUT first, then calls on_cancel; the handler's own completion
 * then returns KN_ERR_ALREADY_COMPLETED, and `call` stays valid until it.
 * Until then the call still counts in flight (against the endpoint's limits,
 * and for its plugin's drain). The same happens, with KN_ERR_UNAVAILABLE, to
 * calls still running when an unload's drain timeout passes. */
typedef void (*kn_cancel_fn)(void *user_data, kn_call *call);

/* Callback (1.1), streaming endpoints: the starter has room again after a
 * call_send of this call returned KN_ERR_UNAVAILABLE; send again now. Any
 * thread; never after the call completed. It may come spuriously (call_send
 * is refused again): send again on the next on_ready. Starters built against
 * 1.0 never signal room; for them the kernel calls on_ready itself after a
 * short delay following a refused send. A handler without on_ready retries
 * call_send on its own schedule, as in 1.0. */
typedef void (*kn_ready_fn)(void *user_data, kn_call *call);

#define KN_ENDPOINT_UNARY         0 /* one request, one response */
#define KN_ENDPOINT_SERVER_STREAM 1 /* one request, items via call_send, then respond/fail */
#define KN_ENDPOINT_BIDI_STREAM   2 /* items both ways; client items reach on_item */

/* kn_endpoint_def.flags (1.4). */
#define KN_ENDPOINT_IDEMPOTENT    1u /* same request, same answer, no effect: a
                                      * response cache may keep its answers */

typedef struct kn_endpoint_def {
    uint32_t struct_size;      /* sizeof(kn_endpoint_def) */
    const char *name;          /* [A-Za-z0-9._-]{1,128}; served at POST /api/<name> */
    uint32_t kind;             /* KN_ENDPOINT_* */
    kn_handler_fn handler;     /* required */
    kn_item_fn on_item;        /* BIDI_STREAM: required; otherwise ignored */
    kn_cancel_fn on_cancel;    /* optional */
    void *user_data;           /* passed to every callback here; owned by the kernel until it calls release */
    kn_release_fn release;     /* optional */
    const char *description;   /* optional, one line */
    /* --- Added in 1.1 --- */
    kn_ready_fn on_ready;      /* optional; SERVER_STREAM and BIDI_STREAM */
    /* --- Added in 1.4 --- */
    const char *request_schema;  /* optional: JSON Schema (text) of the request
                                  * body; refused at registration when it is not
                                  * a JSON object or boolean. The guard plugin
                                  * validates requests against it (422 with
                                  * field errors); listings serve it. */
    const char *response_schema; /* optional: JSON Schema of the result, for
                                  * listings and API documents */
    uint32_t flags;              /* KN_ENDPOINT_IDEMPOTENT, or 0 */
} kn_endpoint_def;

/* An HTTP route bound to an endpoint. `path` segments starting with ':'
 * capture one segment into the request metadata "param.<name>"; a final
 * segment "*" captures the rest into "param.*". Example: GET /users/:id. */
typedef struct kn_route_def {
    uint32_t struct_size;      /* sizeof(kn_route_def) */
    const char *method;        /* "GET", "POST", ... (upper case) */
    const char *path;          /* "/users/:id" */
    const char *endpoint;      /* endpoint name (may belong to another plugin) */
} kn_route_def;

/* Handler of a middleware. Middleware runs for every endpoint call,
 * whatever its protocol (job runs have none), in ascending `order` (ties:
 * registration order). It is called like an endpoint's handler, on the
 * same thread, and must do exactly one of:
 *   - host->call_next(call): pass on (now, or later from any thread);
 *   - host->call_fail / host->call_respond: complete the call here.
 * Before passing on it may read and set request metadata, set response
 * metadata (it survives: see call_response_meta_set), and observe the
 * outcome with host->call_on_complete (since 1.4 such an observer may still
 * set response metadata, and the starter sees it: a timing header). */
typedef void (*kn_middleware_fn)(void *user_data, kn_call *call);

typedef struct kn_middleware_def {
    uint32_t struct_size;      /* sizeof(kn_middleware_def) */
    const char *name;          /* for listings */
    int32_t order;             /* lower runs first (outermost) */
    const char *endpoints;     /* "*" (or NULL): all; "users.*": prefix; otherwise an exact name */
    kn_middleware_fn handler;  /* required */
    void *user_data;           /* passed to handler; owned by the kernel until it calls release */
    kn_release_fn release;     /* optional */
} kn_middleware_def;

/* A transport (a protocol served to the outside: http, ws, tcp, ...). The
 * registration is what listings show; listeners come from host->listen. */
typedef struct kn_transport_def {
    uint32_t struct_size;      /* sizeof(kn_transport_def) */
    const char *name;          /* "http" */
    const char *description;   /* optional */
} kn_transport_def;

/* A job is a named handler run in the background: by host->job_run (now,
 * once, its outcome reported to the starter) or host->job_enqueue (later,
 * retried). The handler receives a kn_call whose body is the payload
 * (content type "application/json") and whose metadata has
 *   "job.id"       the job's id in decimal text: the id job_enqueue stored
 *                  (the same on every attempt), or a fresh one for job_run;
 *   "job.attempt"  the attempt in decimal text: "1" on the first run, "2"
 *                  on the first retry, ...;
 *   "protocol"     "job".
 * It completes the call like an endpoint's handler; a failure is retried
 * (enqueued runs only). Job runs go through no middleware. */
typedef struct kn_job_def {
    uint32_t struct_size;      /* sizeof(kn_job_def) */
    const char *name;          /* [A-Za-z0-9._-]{1,128} */
    kn_handler_fn handler;     /* required */
    void *user_data;           /* passed to handler; owned by the kernel until it calls release */
    kn_release_fn release;     /* optional */
    uint32_t max_attempts;     /* enqueued runs: attempts before giving up; 0 means 3 */
    /* Added in 1.2. Optional: the run was cancelled (its timeout passed,
     * an operator cancelled the job, the scheduler stops): stop the work
     * and complete the call soon. Runs once, on any thread, like an
     * endpoint's on_cancel. Without it, the run ends when the handler
     * completes the call; the attempt still counts as timed out. */
    kn_cancel_fn on_cancel;
} kn_job_def;

/* Jobs are durable when the `scheduler` core plugin is loaded: an enqueued
 * job is stored (SQLite, or PostgreSQL when storage is configured so),
 * survives a crash of the kernel, and runs at least once. Without it they
 * live in the kernel's memory. A plugin does not see which is the case.
 *
 * The handler of a job started by the scheduler also finds in the call's
 * metadata "job.queue", "job.max_attempts" and, for a fire of a schedule,
 * "job.schedule" and "job.fire_at" (ISO-8601). It may answer with
 * response metadata (call_response_meta_set, then complete the call):
 *   "job.snooze"   "<milliseconds>", then succeed: run again after that
 *                  long; the attempt is not spent;
 *   "job.discard"  any value, then fail: do not retry; the job is
 *                  discarded now. */

/* Options of an enqueue (host->job_submit). Zero means the default. */
typedef struct kn_job_options {
    uint32_t struct_size;      /* sizeof(kn_job_options) */
    const char *queue;         /* NULL: "default"; the scheduler refuses a queue
                                  it does not know (KN_ERR_NOT_FOUND) */
    int32_t priority;          /* 0 runs first, then 1, ... up to 9 */
    uint64_t delay_ms;         /* run no earlier than this long from now */
    int64_t run_at_ms;         /* run no earlier than this Unix time in
                                  milliseconds; wins over delay_ms */
    const char *unique_key;    /* NULL: not unique. Otherwise at most one job
                                  with this key (and name) is unfinished, or,
                                  with unique_for_ms, enqueued within that
                                  period: a second enqueue is KN_ERR_CONFLICT
                                  and reports the existing job's id */
    uint64_t unique_for_ms;    /* see unique_key; 0: while unfinished */
    uint32_t max_attempts;     /* 0: the job's own (kn_job_def.max_attempts) */
    uint64_t timeout_ms;       /* an attempt running longer is cancelled (its
                                  handler's on_cancel runs) and counts as
                                  failed; 0: the queue's default */
    /* --- Added in 1.4 --- */
    const char *request_id;    /* NULL: none. The request that caused the job:
                                  stored with it, and every run's "request.id" */
} kn_job_options;

/* Completion of host->job_submit. Runs exactly once, on any thread,
 * possibly before job_submit returns. KN_OK: the job is stored (durable
 * when the scheduler runs) and `job_id` is its id. KN_ERR_CONFLICT: a job
 * with the same unique key exists and `job_id` is its id. Other statuses:
 * nothing was stored, `job_id` is 0 and `message` (borrowed for the
 * duration of the callback) says why. */
typedef void (*kn_job_done_fn)(void *user_data, kn_status status, uint64_t job_id,
                               const char *message);

/* What a schedule does when its previous run has not finished. */
typedef enum kn_overlap {
    KN_OVERLAP_SKIP = 0,       /* the fire is skipped (and recorded as such) */
    KN_OVERLAP_ALLOW = 1,      /* runs alongside */
    KN_OVERLAP_QUEUE_ONE = 2,  /* waits for the running one; at most one waits */
    KN_OVERLAP_REPLACE = 3     /* the running one is cancelled */
} kn_overlap;

/* What a schedule does with the fires it missed while no kernel ran. */
typedef enum kn_misfire {
    KN_MISFIRE_RUN_ONCE = 0,   /* one run for all of them */
    KN_MISFIRE_SKIP = 1,       /* none; wait for the next fire */
    KN_MISFIRE_RUN_ALL = 2     /* one run each, up to misfire_limit */
} kn_misfire;

/* A schedule: enqueues job `job` with `payload` at every fire of `spec`.
 * The kernel keeps it while its plugin is loaded (unload removes it); the
 * scheduler plugin fires it. An operator may change or disable it with
 * kernelctl; that change outlives restarts and reloads. Each fire is a job
 * with the unique key (schedule, fire time), so no fire ever runs twice. */
typedef struct kn_schedule_def {
    uint32_t struct_size;      /* sizeof(kn_schedule_def) */
    const char *name;          /* [A-Za-z0-9._-]{1,128}, global like a job's */
    const char *spec;          /* "30 2 * * MON-FRI" (5 fields, or 6 with seconds
                                  first; names, lists, ranges, steps), a
                                  nickname ("@daily"), or "@every 90s".
                                  Checked by the scheduler, which logs and
                                  shows a bad one (kernelctl schedules list) */
    const char *job;           /* the job it enqueues */
    kn_bytes payload;          /* the job's payload; empty: {} */
    const char *time_zone;     /* IANA name ("Europe/Berlin"); NULL: "UTC" */
    const char *queue;         /* NULL: "default" */
    kn_overlap overlap;
    kn_misfire misfire;
    uint32_t misfire_limit;    /* KN_MISFIRE_RUN_ALL: at most this many; 0: 100 */
    uint64_t jitter_ms;        /* each fire waits a random 0..jitter_ms */
} kn_schedule_def;

/* Visits one schedule (host->schedules_list). `owner` and `def` borrowed
 * for the duration of the callback. Runs on the thread that called
 * schedules_list, inside it. */
typedef void (*kn_schedule_visit_fn)(void *user_data, const char *owner,
                                     const kn_schedule_def *def);

/* Whom an event concerns and where it came from (1.3). Subscribers see an
 * event only if its context allows them (Protocols/pubsub.md): an event
 * with a tenant reaches that tenant's subscribers only, one with a user
 * that user only. Each field may be NULL (none). */
typedef struct kn_event_context {
    const char *user;          /* the call's "auth.subject" */
    const char *tenant;        /* the call's "auth.tenant" */
    const char *session;       /* the call's "auth.session" */
    const char *request_id;    /* the call's "request.id" */
    kn_bytes headers;          /* a JSON object of strings; empty: none */
} kn_event_context;

/* An event, borrowed for the duration of the handler. Fields after
 * published_at_ms exist when struct_size covers them (1.3). */
typedef struct kn_event {
    uint32_t struct_size;
    const char *topic;         /* "orders.created" */
    kn_bytes payload;
    uint64_t id;               /* increasing per kernel process */
    const char *publisher;     /* plugin name, or "kernel" */
    int64_t published_at_ms;   /* Unix epoch milliseconds */
    /* Added in 1.3. */
    uint64_t offset;           /* its place in the pubsub log; 0: not stored
                                  (no pubsub plugin, or a topic it does not
                                  keep) */
    kn_event_context context;
} kn_event;

/* How host->publish_event publishes (1.3). */
typedef struct kn_publish_options {
    uint32_t struct_size;      /* sizeof(kn_publish_options) */
    /* The call being handled, or NULL. Its "auth.subject", "auth.tenant",
     * "auth.session" and "request.id" metadata become the event's context,
     * so an event published while serving a user's request concerns that
     * user. The call's thread. */
    kn_call *call;
    /* Explicit context, or NULL; each non-NULL field overrides the call's. */
    const kn_event_context *context;
} kn_publish_options;

/* Completion of host->publish_event. Runs exactly once, on any thread,
 * possibly before publish_event returns. KN_OK: the event is published;
 * with the pubsub plugin loaded and the topic kept, it is stored (durable)
 * and `offset` is its place in the log (0 when not stored). Other
 * statuses: nothing was published; `message` (borrowed for the duration of
 * the callback) says why (KN_ERR_FORBIDDEN: a publish rule refused it). */
typedef void (*kn_publish_done_fn)(void *user_data, kn_status status, uint64_t offset,
                                   const char *message);

/* Handler of an event pattern. Runs on the kernel's event queue: one event
 * handler at a time (on a kernel thread, not always the same one), never
 * inside host->publish; events of one topic reach one handler in publish
 * order. `event` is borrowed. Do not block: other events wait.
 *
 * Events the kernel publishes (publisher "kernel"), payload
 * {"name":"<plugin name>"}:
 *   "kernel.plugin.loaded"    a plugin was loaded (not on a reload);
 *   "kernel.plugin.reloaded"  a plugin was replaced by a new version: the
 *                             new one runs and the old one has stopped;
 *   "kernel.plugin.unloaded"  a plugin was unloaded (also at shutdown).
 * and, payload {}:
 *   "kernel.schedules.changed" the set of schedules (register_schedule)
 *                             changed: a plugin that declares some was
 *                             loaded, reloaded or unloaded (1.2);
 *   "kernel.started"          every plugin of the start-up has started: warm
 *                             caches, register elsewhere (1.4);
 *   "kernel.stopping"         the kernel is shutting down; calls are still
 *                             served until the drain that follows (1.4). */
typedef void (*kn_event_fn)(void *user_data, const kn_event *event);

typedef struct kn_event_handler_def {
    uint32_t struct_size;      /* sizeof(kn_event_handler_def) */
    const char *pattern;       /* dot-separated topic; "*" matches one segment, a final "#" any rest */
    kn_event_fn handler;       /* required */
    void *user_data;           /* passed to handler; owned by the kernel until it calls release */
    kn_release_fn release;     /* optional */
} kn_event_handler_def;

/* A failed call as error handlers see it (1.4). Borrowed for the duration
 * of the handler. */
typedef struct kn_error_info {
    uint32_t struct_size;      /* sizeof(kn_error_info) */
    kn_status status;          /* the failure; handlers cannot change it */
    kn_bytes message;          /* as failed, or as an earlier handler rewrote it */
    kn_bytes details;          /* JSON object or empty; likewise */
} kn_error_info;

/* Handler of failed calls (1.4). Runs for every call that completes with an
 * error, whoever failed it (handler, middleware, kernel), before the
 * starter hears of it: on the thread that failed the call, so it must be
 * quick and must not block. It may read the call's request metadata
 * ("request.id", "http.method", "http.path", "protocol", ...) and
 * host->call_endpoint, and may rewrite the message and details with
 * host->call_error_rewrite (`error` stays valid until the handler returns).
 * Handlers run in ascending `order`. After them, unless one rewrote its
 * message, an internal error for a client outside the process (http, ws,
 * tcp, any transport's) goes out as "internal error" with details
 * {"request_id": ...}, and the kernel logs what it said instead: clients
 * never read an internal message by default. */
typedef void (*kn_error_fn)(void *user_data, kn_call *call, const kn_error_info *error);

typedef struct kn_error_handler_def {
    uint32_t struct_size;      /* sizeof(kn_error_handler_def) */
    const char *name;          /* for listings */
    int32_t order;             /* lower runs first */
    kn_error_fn handler;       /* required */
    void *user_data;           /* passed to handler; owned by the kernel until it calls release */
    kn_release_fn release;     /* optional */
} kn_error_handler_def;

/* ======================================================================== */
/* 4. Calls                                                                */
/* ======================================================================== */
/*
 * A kn_call carries a request (endpoint, body, content type, metadata) to a
 * handler, through the middleware chain, and its outcome back to the
 * starter.
 *
 * Request metadata keys set by the kernel and the core transports:
 *   "request.id"          unique id (set by the kernel if absent)
 *   "protocol"            "http", "ws", "tcp", "internal", "admin", "job"
 *   "peer"                remote address, "ip:port"
 *   "http.method", "http.path", "http.query"
 *                         "http.path" is the raw path, as the client sent it
 *   "header.<name>"       request headers, name in lower case
 *   "param.<name>"        route parameters, percent-decoded (UTF-8) by the
 *                         kernel: "/users/a%20b" gives "a b"
 *   "job.id", "job.attempt"  job runs (see kn_job_def)
 *   "auth.*"              set by authentication middleware: "auth.subject",
 *                         "auth.tenant", "auth.roles" (comma-separated),
 *                         "auth.claims.<claim>" (the auth plugin)
 *   "call.preflight"      set by a transport before dispatch (1.4): the
 *                         call runs its middleware and never its handler;
 *                         past the last middleware the kernel answers it
 *                         with an empty result. The http transport sends a
 *                         CORS preflight (OPTIONS) so, for the middleware
 *                         to answer; authentication lets it through.
 * Read-only keys about the endpoint, from dispatch on (1.4):
 *   "endpoint.plugin"     the name of the plugin that serves it
 *   "endpoint.request_schema", "endpoint.response_schema"
 *                         its kn_endpoint_def schemas, when it has them
 *   "endpoint.idempotent" "1" when its flags have KN_ENDPOINT_IDEMPOTENT
 *   "endpoint.kind"       "unary", "server_stream" or "bidi_stream"
 * Response metadata ("header.<name>") becomes response headers on HTTP.
 *
 * A call is used by one thread at a time, the call's thread: its starter
 * until call_dispatch, then each middleware and the handler in turn. Only
 * completion (call_respond, call_fail), call_send, call_push, call_cancel,
 * call_ready and call_release may come from any thread.
 */

/* The outcome of a call, passed to the starter's on_complete. Borrowed for
 * the duration of that callback. */
typedef struct kn_response {
    uint32_t struct_size;
    kn_status status;          /* KN_OK or an error */
    kn_bytes body;             /* status OK: the result */
    const char *content_type;  /* status OK: e.g. "application/json"; never NULL ("" when none) */
    kn_bytes error_message;    /* status != OK: one line, UTF-8 */
    kn_bytes error_details;    /* status != OK: JSON object or empty */
    size_t meta_count;         /* response metadata: read with host->response_meta_at */
    const void *meta_handle;   /* opaque, for host->response_meta_at */
} kn_response;

/* Callback: a call completed. Runs exactly once, on the thread that
 * completed it (any thread, possibly inside host->call_dispatch). */
typedef void (*kn_complete_fn)(void *user_data, const kn_response *response);

/* Callback, the starter's side of a SERVER_STREAM or BIDI_STREAM call: one
 * item the handler sent, in order, on the handler's thread inside its
 * call_send. `item` is borrowed. It must not block. Return true when the
 * item is taken; false when the starter has no room for it (its consumer is
 * slow): the item is not taken, and the handler's call_send returns
 * KN_ERR_UNAVAILABLE (the handler keeps the item and sends it again). A
 * starter that returned false calls host->call_ready(call) once it has room
 * again (1.1), or cancels the call. */
typedef bool (*kn_stream_item_fn)(void *user_data, kn_bytes item);

typedef struct kn_call_callbacks {
    uint32_t struct_size;            /* sizeof(kn_call_callbacks) */
    kn_complete_fn on_complete;      /* required */
    kn_stream_item_fn on_item;       /* takes streamed items; NULL: the starter takes none */
    void *user_data;                 /* passed to on_complete and on_item; owned by the kernel
                                      * until it calls on_complete, the last callback to get it */
} kn_call_callbacks;

/* ======================================================================== */
/* 5. The host API table                                                   */
/* ======================================================================== */
/*
 * One table for the process, valid until the process exits. Every function
 * takes the calling plugin (`self`, from init) or a call, and says where it
 * may be called: any thread, the control thread, or the call's thread.
 *
 * Functions added in a later minor version are at the end of the table.
 * Before calling one, check that this kernel's table has it (check
 * `struct_size`): KN_HOST_HAS(host, call_ready). Added in 1.1: call_ready.
 * Added in 1.2: job_submit, call_set_job, register_schedule, schedules_list.
 * Added in 1.3: publish_event, call_response_meta_get.
 * Added in 1.4: register_error_handler, call_error_rewrite, call_log.
 */
#define KN_HOST_HAS(host, field) \
    ((host)->struct_size >= offsetof(kn_host_api, field) + sizeof((host)->field))

struct kn_host_api {
    uint32_t struct_size;      /* sizeof(kn_host_api) as the kernel compiled it */
    uint16_t abi_major;
    uint16_t abi_minor;

    /* --- About the plugin ------------------------------------------------ */

    /* Logs one line under the plugin's name. `message` (NUL-terminated)
     * copied. Any thread. */
    void (*log)(kn_plugin *self, int32_t level, const char *message);
    /* Why init or start failed; shown in the kernel's log and by kernelctl.
     * `message` copied. Control thread. */
    void (*set_error)(kn_plugin *self, const char *message);
    /* The value of `key` in the plugin's configuration section (config file
     * [<name>] plus --set <name>.<key>=<value>), or NULL. Borrowed until
     * stop returns. Any thread. */
    const char *(*config_get)(kn_plugin *self, const char *key);
    /* The plugin's own data directory (created): <data>/plugins/<name>.
     * Borrowed until stop returns. Any thread. */
    const char *(*data_dir)(kn_plugin *self);
    /* Counters and gauges shown by `kernelctl info`. `name` copied. Any
     * thread. */
    void (*metric_add)(kn_plugin *self, const char *name, int64_t delta);
    void (*metric_set)(kn_plugin *self, const char *name, int64_t value);

    /* --- Registrations (control thread: from init, or start) --------------- */

    /* Each: `def` copied (section 3). Control thread. KN_ERR_INVALID_ARGUMENT
     * for a malformed definition, KN_ERR_CONFLICT for a name another plugin
     * owns; the kernel logs the reason and keeps it as the plugin's error,
     * as set_error would. */
    kn_status (*register_endpoint)(kn_plugin *self, const kn_endpoint_def *def);
    kn_status (*register_route)(kn_plugin *self, const kn_route_def *def);
    kn_status (*register_middleware)(kn_plugin *self, const kn_middleware_def *def);
    kn_status (*register_transport)(kn_plugin *self, const kn_transport_def *def);
    kn_status (*register_job)(kn_plugin *self, const kn_job_def *def);
    kn_status (*register_event_handler)(kn_plugin *self, const kn_event_handler_def *def);
    /* A named service: a table of functions other plugins look up. `name`
     * copied. `table` is not copied: callers keep it, so keep it valid and
     * callable as long as the image is mapped (a static const table), even
     * after stop: see lookup_service. By convention it starts with a
     * uint32_t struct_size and only grows. Control thread. */
    kn_status (*register_service)(kn_plugin *self, const char *name, uint32_t major,
                                  uint32_t minor, const void *table);
    /* Finds a service of the same `major` and a minor >= `min_minor`; stores
     * the provider's table in `*table` and its minor in `*minor` (may be
     * NULL). KN_ERR_NOT_FOUND if none. Any thread.
     *
     * The table is borrowed: valid while that version of the provider runs.
     * List the provider in depends_on: it is then loaded before you, and
     * the kernel refuses to unload it while you are loaded. A reload of the
     * provider does not reload you: its new version registers a new table
     * and the old version stops. The rule: look the table up again when the
     * event "kernel.plugin.reloaded" names the provider (or look it up at
     * each use: it is cheap). Until you do, calls through the old table
     * reach the stopped version, which must still answer them: a provider
     * forwards them to its new version (the storage plugin does) or fails
     * them with KN_ERR_UNAVAILABLE. */
    kn_status (*lookup_service)(kn_plugin *self, const char *name, uint32_t major,
                                uint32_t min_minor, const void **table, uint32_t *minor);

    /* --- Handling a call (handler or middleware side) --------------------- */

    /* The request: endpoint name, body, content type (may be ""). Each
     * borrowed until completion. The call's thread. */
    const char *(*call_endpoint)(kn_call *call);
    kn_bytes (*call_body)(kn_call *call);
    const char *(*call_content_type)(kn_call *call);
    /* Reads request metadata. Stores a slice borrowed until completion or
     * the next call_meta_set of the same key. false if absent. The call's
     * thread. */
    bool (*call_meta_get)(kn_call *call, const char *key, kn_bytes *value);
    /* Adds or replaces request metadata (middleware: e.g. "auth.subject").
     * `key` and `value` copied. The call's thread. */
    kn_status (*call_meta_set)(kn_call *call, const char *key, kn_bytes value);
    /* Adds or replaces response metadata ("header.etag", ...). `key` and
     * `value` copied. A call has one set of response metadata, written in
     * turn by its middleware and its handler: what a middleware sets before
     * call_next survives, the handler's keys are added to it, and for the
     * same key the later write wins. Set it before completing the call.
     * The call's thread. */
    kn_status (*call_response_meta_set)(kn_call *call, const char *key, kn_bytes value);
    /* Completes the call with a result. `body` and `content_type` copied.
     * Exactly once per call, any thread; a second completion returns
     * KN_ERR_ALREADY_COMPLETED and changes nothing. */
    kn_status (*call_respond)(kn_call *call, kn_bytes body, const char *content_type);
    /* Completes the call with an error. `message` (NUL-terminated; NULL:
     * the status name) and `details` (a JSON object, or an empty slice)
     * copied. KN_OK as `status` is turned into KN_ERR_INTERNAL. Exactly
     * once per call, any thread, like call_respond. */
    kn_status (*call_fail)(kn_call *call, kn_status status, const char *message,
                           kn_bytes details);
    /* Streaming endpoints: sends one item to the starter, in order. `item`
     * copied. Any thread, one call_send at a time per call, never
     * concurrently with the call's completion (send, then complete).
     *   KN_OK                    the starter took the item.
     *   KN_ERR_UNAVAILABLE       the starter has no room (backpressure): keep
     *                            the item and send it again after on_ready
     *                            (1.1) or later on your own schedule, or fail
     *                            the call.
     *   KN_ERR_CANCELLED         the call was cancelled or has completed:
     *                            stop sending.
     *   KN_ERR_INVALID_ARGUMENT  the starter takes no items (it gave no
     *                            on_item, e.g. an internal call). The kernel
     *                            does not dispatch a SERVER_STREAM or
     *                            BIDI_STREAM endpoint to such a starter: it
     *                            fails the call with this status and the
     *                            message "endpoint <name> streams; its caller
     *                            must take items", so a streaming handler
     *                            normally never sees it.
     * All three core transports take items: ws and tcp as envelope `item`
     * messages; http as Server-Sent Events when the client sends
     * `Accept: text/event-stream`, as newline-delimited JSON otherwise,
     * or as the handler's own bytes when it set the response metadata
     * "stream.raw" = "1" before its first item (Protocols/http-transport.md). */
    kn_status (*call_send)(kn_call *call, kn_bytes item);
    /* Middleware: passes the call to the next middleware or the handler.
     * The call's thread (which then hands the call on). */
    void (*call_next)(kn_call *call);
    /* Observes the outcome: `on_complete` runs once, as the call completes,
     * before the starter's on_complete, in reverse order of registration,
     * on the thread that completes the call. `user_data` is owned by the
     * kernel until it calls on_complete. The call's thread: register it
     * before passing the call on (call_next); afterwards the call may
     * already be complete (KN_ERR_ALREADY_COMPLETED) or gone. */
    kn_status (*call_on_complete)(kn_call *call, kn_complete_fn on_complete, void *user_data);
    /* One pointer of the handler's own per call (e.g. stream state). The
     * kernel never reads or frees it. The call's thread. */
    void (*call_set_user)(kn_call *call, void *user);
    void *(*call_get_user)(kn_call *call);
    /* Reads response metadata of a kn_response, i from 0 to meta_count-1.
     * Slices borrowed like the response. Inside the on_complete that got
     * the response. */
    bool (*response_meta_at)(const kn_response *response, size_t i, kn_bytes *key,
                             kn_bytes *value);

    /* --- Starting a call (transport or plugin side) ------------------------ */

    /* A new call, owned by the caller until call_release. `protocol` copied
     * ("http", "internal", ...; NULL: "internal"). Any thread. */
    kn_call *(*call_new)(kn_plugin *self, const char *protocol);
    /* Targets an endpoint by name. `endpoint` copied. The call's thread. */
    kn_status (*call_set_endpoint)(kn_call *call, const char *endpoint);
    /* Targets the endpoint of the HTTP route matching `method` and `path`
     * (path only, no query, as the client sent it), and sets "param.*"
     * metadata, percent-decoded. KN_ERR_NOT_FOUND when no route matches the
     * path, KN_ERR_METHOD_NOT_ALLOWED when one matches it with another
     * method. The call's thread. */
    kn_status (*call_set_route)(kn_call *call, const char *method, const char *path);
    /* Sets the request body. `body` and `content_type` copied. The call's
     * thread. */
    kn_status (*call_set_body)(kn_call *call, kn_bytes body, const char *content_type);
    /* Runs the call: middleware, then the handler. `callbacks` copied;
     * on_complete runs exactly once, possibly before call_dispatch returns.
     * Give on_item to take the items of streaming endpoints. A call is
     * dispatched at most once. Callbacks without on_complete: the call is
     * not run and nothing is called. The call's thread, which hands the
     * call on to the middleware and the handler. */
    void (*call_dispatch)(kn_call *call, const kn_call_callbacks *callbacks);
    /* Bidirectional streams: passes one client item to the handler's
     * on_item. `item` copied. Any thread, one at a time per call, in order.
     * KN_ERR_UNAVAILABLE while the call has not reached its handler yet (a
     * middleware still holds it): push it again later. KN_ERR_CANCELLED
     * once the call has completed. */
    kn_status (*call_push)(kn_call *call, kn_bytes item);
    /* Cancels a dispatched call (client gone, timeout). The handler's
     * on_cancel runs; the call still completes exactly once. Any thread. */
    void (*call_cancel)(kn_call *call);
    /* Gives back the caller's hold on a call from call_new. The call stays
     * alive inside the kernel until it completes. Any thread. */
    void (*call_release)(kn_call *call);

    /* --- Events and jobs --------------------------------------------------- */

    /* Publishes an event to every matching handler, asynchronously. `topic`
     * and `payload` copied. KN_ERR_INVALID_ARGUMENT for a topic
     * publish_event refuses. Any thread. With the pubsub plugin loaded
     * (1.3), it waits for the store, at most 10 s, then
     * KN_ERR_UNAVAILABLE (the event may still be stored after); other
     * refusals are returned as is (KN_ERR_FORBIDDEN). */
    kn_status (*publish)(kn_plugin *self, const char *topic, kn_bytes payload);
    /* Runs job `name` now, once, in the background. `name`, `payload` and
     * `callbacks` copied. Any thread.
     *   KN_OK: the job was started; on_complete runs exactly once, on any
     *     thread, never inside job_run (but possibly before it returns).
     *   Any other status (KN_ERR_NOT_FOUND: no job of that name;
     *     KN_ERR_INVALID_ARGUMENT: no callbacks or no on_complete): nothing
     *     was started and the callbacks are never called. */
    kn_status (*job_run)(kn_plugin *self, const char *name, kn_bytes payload,
                         const kn_call_callbacks *callbacks);
    /* Queues job `name` to run after `delay_ms`, retried with backoff up to
     * its max_attempts. Stores the job id in `job_id` (may be NULL).
     * `name` and `payload` copied. KN_ERR_NOT_FOUND when no job of that name
     * is registered now; a job gone by the time it runs is dropped (logged).
     * Any thread. */
    kn_status (*job_enqueue)(kn_plugin *self, const char *name, kn_bytes payload,
                             uint64_t delay_ms, uint64_t *job_id);

    /* --- Sockets ----------------------------------------------------------- */

    /* A listening TCP socket on `host`:`port`, kept by the kernel across
     * reloads of the plugin so no connection is refused while it is
     * replaced. Stores a duplicate descriptor in `*fd`, owned by the plugin
     * until it closes it (close(2), in stop), and the bound port (useful
     * when `port` is 0). Control thread. */
    kn_status (*listen)(kn_plugin *self, const char *host, uint16_t port, int *fd,
                        uint16_t *bound_port);

    /* --- Identity ------------------------------------------------------- */

    /* The name of a plugin, e.g. of the caller of a service function that
     * takes a kn_plugin * (services use it to namespace what they keep).
     * Borrowed until that plugin's stop returns. Any thread. */
    const char *(*plugin_name)(kn_plugin *plugin);

    /* --- Added in 1.1 (check KN_HOST_HAS(host, <function>)) --------------- */

    /* Starting a call, streams: the starter has room again after its
     * on_item returned false. The kernel passes it on to the handler's
     * on_ready (nothing happens when the endpoint has none). Call it once
     * per refusal, when room is back; extra calls are harmless (a spurious
     * on_ready), and calls after completion do nothing. A starter that
     * refuses items must call it (or cancel the call): a handler that waits
     * for on_ready waits for it. Any thread. */
    void (*call_ready)(kn_call *call);

    /* --- Added in 1.2 (check KN_HOST_HAS(host, <function>)) --------------- */

    /* Queues job `name` with `options` (NULL: defaults): job_enqueue with
     * every option, and without blocking. `name`, `payload` and `options`
     * copied. Any thread.
     *   KN_OK: `done` runs exactly once (kn_job_done_fn), when the job is
     *     stored or refused: an unknown queue, a bad priority, a payload
     *     over the limit and a duplicate unique key are refusals reported
     *     there, with the reason.
     *   Any other status (KN_ERR_NOT_FOUND: no job of that name is
     *     registered now; KN_ERR_INVALID_ARGUMENT: no `done`, options without
     *     struct_size): nothing was stored and `done` is never called.
     * With the scheduler loaded, job_enqueue does the same and waits for the
     * store (at most 10 s, then KN_ERR_UNAVAILABLE, and the job may still be
     * stored after): do not call job_enqueue from a storage completion or
     * a Swift task; call job_submit there. While the scheduler is being
     * unloaded, both refuse with KN_ERR_UNAVAILABLE rather than keep the job
     * in memory. */
    kn_status (*job_submit)(kn_plugin *self, const char *name, kn_bytes payload,
                            const kn_job_options *options, kn_job_done_fn done,
                            void *user_data);
    /* Starting a call: targets job `name` instead of an endpoint. The call
     * runs through no middleware; its starter sets "job.*" metadata
     * (call_meta_set), dispatches it and may cancel it, as for any call. The
     * scheduler runs jobs so. `name` copied. KN_ERR_NOT_FOUND when no job of
     * that name is registered now (nothing changes). The call's thread. */
    kn_status (*call_set_job)(kn_call *call, const char *name);
    /* A schedule (kn_schedule_def): `def` copied (section 3). Control
     * thread. KN_ERR_INVALID_ARGUMENT for a malformed definition (a bad
     * name, no spec or job), KN_ERR_CONFLICT for a name another plugin owns. */
    kn_status (*register_schedule)(kn_plugin *self, const kn_schedule_def *def);
    /* Visits every schedule of every loaded plugin, in name order, with its
     * owner's name. `visit` runs inside schedules_list, on the caller's
     * thread. Any thread. */
    void (*schedules_list)(kn_plugin *self, kn_schedule_visit_fn visit, void *user_data);

    /* --- Added in 1.3 (check KN_HOST_HAS(host, <function>)) --------------- */

    /* Publishes an event with a context (kn_publish_options; NULL: none).
     * `topic`, `payload` and `options` copied. With the pubsub plugin
     * loaded the event is stored first (for the topics it keeps), then
     * handed to remote subscribers, durable consumers and the handlers of
     * matching patterns; without it, to the handlers only. `done` (may be
     * NULL: not told) runs once it is stored or refused. Any thread; never
     * blocks.
     *   KN_OK: `done`, if given, will run.
     *   KN_ERR_INVALID_ARGUMENT: an empty topic, one with '*', '#' or '>',
     *     an empty segment, or over 255 bytes; options without struct_size.
     *     Nothing was published and `done` is never called.
     * host->publish is publish_event without options; since 1.3 it waits
     * (at most 10 s) for the store when the pubsub plugin is loaded, so
     * its KN_OK means stored: call publish_event from a Swift task or a
     * storage completion instead. */
    kn_status (*publish_event)(kn_plugin *self, const char *topic, kn_bytes payload,
                               const kn_publish_options *options, kn_publish_done_fn done,
                               void *user_data);
    /* Reads the response metadata set so far ("stream.raw", "header.*",
     * ...): by the handler or a middleware, or by the starter inside its
     * on_item (which runs on the handler's thread, so it sees what the
     * handler set before that item; the http transport reads "stream.raw"
     * so at the first item). Stores a slice borrowed until the next
     * call_response_meta_set of the same key or the completion. false if
     * absent. The call's thread. */
    bool (*call_response_meta_get)(kn_call *call, const char *key, kn_bytes *value);

    /* --- Added in 1.4 (check KN_HOST_HAS(host, <function>)) --------------- */

    /* Registers a handler of failed calls (kn_error_handler_def). `def`
     * copied. Control thread, in init or start. */
    kn_status (*register_error_handler)(kn_plugin *self, const kn_error_handler_def *def);
    /* Replaces the failed call's message and/or details (JSON object) as the
     * starter and later handlers will see them; an empty slice keeps the
     * current one. Both copied. Only inside a kn_error_fn for this call;
     * elsewhere KN_ERR_INVALID_ARGUMENT. */
    kn_status (*call_error_rewrite)(kn_call *call, kn_bytes message, kn_bytes details);
    /* Logs one line about a call, under the plugin's name, tagged with the
     * call's request id and endpoint: how a handler, a middleware or a job
     * says something about the request it serves. `message` copied. The
     * call's thread. */
    void (*call_log)(kn_plugin *self, kn_call *call, int32_t level, const char *message);
};

#ifdef __cplusplus
}
#endif

#endif /* KN_PLUGIN_H */
