/*
 * kn_plugin.h: the stable C ABI between the kernel and its plugins, version 1.
 *
 * This header is all a plugin needs. Read it top to bottom:
 *
 *   1. Conventions: status codes, byte slices, ownership and thread words.
 *   2. The entry point and the plugin descriptor a plugin returns.
 *   3. Registrations: endpoints, HTTP routes, middleware, transports, jobs,
 *      event handlers, services.
 *   4. Calls: how a handler reads a request and completes it, how a transport
 *      or a plugin starts a call.
 *   5. The host API table: every function the kernel offers.
 *
 * The smallest plugin (C):
 *
 *     #include "kn_plugin.h"
 *     static const kn_host_api *host;
 *
 *     static void hello(void *user_data, kn_call *call) {
 *         const char *body = "{\"message\":\"hello\"}";
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
 *
 * Build: cc -shared -fPIC -I Protocols -o libhello.so hello.c
 *
 * ---------------------------------------------------------------------------
 * Words used at every function
 *
 *   borrowed   The pointer is valid only for the duration of the call that
 *              passed it (or for the span named). Copy what you keep.
 *   copied     The receiver copies the data before returning; the caller may
 *              free or reuse its buffer right after.
 *   owned      The holder must give it back with the named release function.
 *   any thread The function may be called from any thread, concurrently.
 *   control    The kernel's control thread: one thread on which every load,
 *              unload and reload runs, one at a time.
 *
 * Memory is never freed across the boundary with the other side's
 * allocator: every buffer the kernel hands out is released by the kernel,
 * every buffer a plugin hands in is copied or stays owned by the plugin.
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
 * minor >= N. A different major, or a newer minor, is refused at load. */
#define KN_ABI_MAJOR 1
#define KN_ABI_MINOR 0

/* The one symbol every plugin exports. */
#define KN_ENTRY_SYMBOL "kn_plugin_entry"

#if defined(__GNUC__) || defined(__clang__)
#define KN_EXPORT __attribute__((visibility("default")))
#else
#define KN_EXPORT
#endif

/* Status codes. Every transport maps them to its protocol (HTTP status in
 * brackets); the names are the `code` strings of JSON error bodies. */
typedef int32_t kn_status;
#define KN_OK                     0  /* ok               [200] */
#define KN_ERR_INVALID_ARGUMENT   1  /* invalid_argument [400] */
#define KN_ERR_NOT_FOUND          2  /* not_found        [404] */
#define KN_ERR_VALIDATION         3  /* validation       [422] details: {"fields":[{"field","message"}]} */
#define KN_ERR_CONFLICT           4  /* conflict         [409] */
#define KN_ERR_UNAUTHORIZED       5  /* unauthorized     [401] */
#define KN_ERR_FORBIDDEN          6  /* forbidden        [403] */
#define KN_ERR_RATE_LIMITED       7  /* rate_limited     [429] */
#define KN_ERR_TOO_LARGE          8  /* too_large        [413] */
#define KN_ERR_TIMEOUT            9  /* timeout          [504] */
#define KN_ERR_UNAVAILABLE       10  /* unavailable      [503] */
#define KN_ERR_CANCELLED         11  /* cancelled        [499] */
#define KN_ERR_INTERNAL          12  /* internal         [500] */
#define KN_ERR_METHOD_NOT_ALLOWED 13 /* method_not_allowed [405] */
#define KN_ERR_ALREADY_COMPLETED 14  /* a call was completed twice; the second is ignored */

/* A byte slice. Who owns `ptr` and for how long is said where it is used.
 * Text is UTF-8 and not NUL-terminated. */
typedef struct kn_bytes {
    const uint8_t *ptr;
    size_t len;
} kn_bytes;

/* Opaque handles, owned by the kernel. */
typedef struct kn_plugin kn_plugin; /* one loaded plugin: valid from entry until stop returns */
typedef struct kn_call kn_call;     /* one call of an endpoint, a job or a middleware chain */

typedef struct kn_host_api kn_host_api;

/* Log levels for host->log. */
#define KN_LOG_TRACE 0
#define KN_LOG_DEBUG 1
#define KN_LOG_INFO  2
#define KN_LOG_WARN  3
#define KN_LOG_ERROR 4

/* Called when a registration is removed (unload, reload, or failed init), so
 * the plugin can free its user_data. On the control thread, after the last
 * call that uses user_data has completed. If the drain timed out with calls
 * still running, release is not called: the data is leaked rather than freed
 * under a running call. */
typedef void (*kn_release_fn)(void *user_data);

/* ======================================================================== */
/* 2. Entry point and descriptor                                           */
/* ======================================================================== */

/* Plugin flags. */
#define KN_PLUGIN_UNLOAD_SAFE 0x1u /* no Swift/C++ runtime state: the kernel may dlclose the image.
                                    * This kernel opens every image RTLD_NODELETE, so dlclose
                                    * drops its reference but the code stays mapped. */

typedef struct kn_plugin_descriptor {
    uint32_t struct_size;      /* sizeof(kn_plugin_descriptor) */
    uint16_t abi_major;        /* KN_ABI_MAJOR */
    uint16_t abi_minor;        /* KN_ABI_MINOR */
    const char *name;          /* unique plugin name: [a-z0-9_-]{1,64} */
    const char *version;       /* free text, e.g. "1.2.0" */
    const char *const *depends_on; /* NULL-terminated names of plugins loaded before this one; may be NULL */

    /* Register everything. Control thread. Registrations made here become
     * visible together when init returns KN_OK; on any other status they are
     * all discarded and the plugin is refused (host->set_error says why). */
    kn_status (*init)(kn_plugin *self);
    /* Optional. Start background work (listening, timers). Control thread,
     * after the registrations are live. Non-OK: the registrations are
     * withdrawn (on a reload, the old version's come back), then stop runs
     * so stop must cope with a partial start. */
    kn_status (*start)(kn_plugin *self);
    /* Optional. Stop background work, close sockets, join threads. Control
     * thread, after calls in flight have drained (or the drain timed out).
     * May block, but should return within the kernel's drain timeout. */
    void (*stop)(kn_plugin *self);

    uint32_t flags;            /* KN_PLUGIN_* */
    const char *description;   /* optional, one line */
} kn_plugin_descriptor;

/* The entry symbol: `kn_plugin_entry`. Called once per loaded image, on the
 * control thread, before init. `host` lives as long as the process; keep it.
 * The returned descriptor and every string it points to must stay valid
 * until stop returns (a static const is the usual choice). Return NULL to
 * refuse loading. */
typedef const kn_plugin_descriptor *(*kn_plugin_entry_fn)(const kn_host_api *host);

/* ======================================================================== */
/* 3. Registrations                                                        */
/* ======================================================================== */
/*
 * Every registration is owned by the plugin that made it: unload removes
 * them all. Names of endpoints, jobs and services are global; registering a
 * name another plugin owns fails with KN_ERR_CONFLICT. When a plugin is
 * reloaded, the new version's registrations replace the old version's, and
 * new calls go to the new version at once.
 *
 * Definition structs are borrowed: the kernel copies them and every string
 * in them during the register call.
 */

/* Called for each call of an endpoint or job, on the thread that started the
 * call (a transport's I/O thread, usually). It must not block. It completes
 * the call exactly once with host->call_respond or host->call_fail, from any
 * thread, before returning (the fast path) or later. `call` stays valid
 * until it is completed. */
typedef void (*kn_handler_fn)(void *user_data, kn_call *call);

/* Bidirectional streams: one item sent by the client, in order, never
 * concurrently for one call. `item` is borrowed for the duration. An empty
 * item (len 0) means the client has no more items (the ws and tcp
 * transports send one for the envelope's `end`); items themselves are never
 * empty. */
typedef void (*kn_item_fn)(void *user_data, kn_call *call, kn_bytes item);

/* The call was cancelled: client gone, stream cancelled, or timeout. Any
 * thread, at most once per call, and only once the handler has the call (a
 * call cancelled while in its middleware fails with KN_ERR_CANCELLED when it
 * reaches the handler, which then never sees it). The handler should stop and complete the
 * call (host->call_fail with KN_ERR_CANCELLED); sends now fail. */
typedef void (*kn_cancel_fn)(void *user_data, kn_call *call);

#define KN_ENDPOINT_UNARY         0 /* one request, one response */
#define KN_ENDPOINT_SERVER_STREAM 1 /* one request, items via call_send, then respond/fail */
#define KN_ENDPOINT_BIDI_STREAM   2 /* items both ways; client items reach on_item */

typedef struct kn_endpoint_def {
    uint32_t struct_size;
    const char *name;          /* [A-Za-z0-9._-]{1,128}; served at POST /api/<name> */
    uint32_t kind;             /* KN_ENDPOINT_* */
    kn_handler_fn handler;     /* required */
    kn_item_fn on_item;        /* BIDI_STREAM: required; otherwise ignored */
    kn_cancel_fn on_cancel;    /* optional */
    void *user_data;           /* passed back to the callbacks; owned by the plugin */
    kn_release_fn release;     /* optional: frees user_data when the endpoint is removed */
    const char *description;   /* optional */
} kn_endpoint_def;

/* An HTTP route bound to an endpoint. `path` segments starting with ':'
 * capture one segment into the request metadata "param.<name>"; a final
 * segment "*" captures the rest into "param.*". Example: GET /users/:id. */
typedef struct kn_route_def {
    uint32_t struct_size;
    const char *method;        /* "GET", "POST", ... (upper case) */
    const char *path;          /* "/users/:id" */
    const char *endpoint;      /* endpoint name (may belong to another plugin) */
} kn_route_def;

/* Middleware runs for every call, whatever its protocol, in ascending
 * `order` (ties: registration order). It is called like a handler, on the
 * caller's thread, and must do exactly one of:
 *   - host->call_next(call): pass on (now or later, from any thread);
 *   - host->call_fail / host->call_respond: short-circuit the call.
 * It may read and add metadata before passing on, and observe the outcome
 * with host->call_on_complete. */
typedef void (*kn_middleware_fn)(void *user_data, kn_call *call);

typedef struct kn_middleware_def {
    uint32_t struct_size;
    const char *name;          /* for listings */
    int32_t order;             /* lower runs first (outermost) */
    const char *endpoints;     /* "*" (or NULL): all; "users.*": prefix; otherwise an exact name */
    kn_middleware_fn fn;
    void *user_data;
    kn_release_fn release;
} kn_middleware_def;

/* A transport (a protocol served to the outside: http, ws, tcp, ...). The
 * registration is what listings show; listeners come from host->listen. */
typedef struct kn_transport_def {
    uint32_t struct_size;
    const char *name;          /* "http" */
    const char *description;   /* optional */
} kn_transport_def;

/* A job is a named handler run in the background: by host->job_run (now,
 * with a completion) or host->job_enqueue (fire and forget, retried). The
 * handler receives a kn_call whose body is the payload and whose metadata
 * has "job.id" and "job.attempt"; it completes it like an endpoint call. */
typedef struct kn_job_def {
    uint32_t struct_size;
    const char *name;
    kn_handler_fn handler;
    void *user_data;
    kn_release_fn release;
    uint32_t max_attempts;     /* enqueued runs: attempts before giving up; 0 means 3 */
} kn_job_def;

/* An event delivered to a handler. Borrowed for the duration of the call. */
typedef struct kn_event {
    uint32_t struct_size;
    const char *topic;         /* "orders.created" */
    kn_bytes payload;
    uint64_t id;               /* increasing per kernel process */
    const char *publisher;     /* plugin name */
    int64_t published_at_ms;   /* Unix epoch milliseconds */
} kn_event;

/* Event handlers run on the kernel's event threads, never inline in
 * host->publish; events of one topic reach one handler in publish order. */
typedef void (*kn_event_fn)(void *user_data, const kn_event *event);

typedef struct kn_event_handler_def {
    uint32_t struct_size;
    const char *pattern;       /* dot-separated topic; "*" matches one segment, a final "#" any rest */
    kn_event_fn fn;
    void *user_data;
    kn_release_fn release;
} kn_event_handler_def;

/* ======================================================================== */
/* 4. Calls                                                                */
/* ======================================================================== */
/*
 * A kn_call carries a request (endpoint, body, content type, metadata) to a
 * handler, through the middleware chain, and its outcome back to whoever
 * started it.
 *
 * Request metadata keys set by the kernel and the core transports:
 *   "request.id"          unique id (set by the kernel if absent)
 *   "protocol"            "http", "ws", "tcp", "internal", "admin"
 *   "peer"                remote address, "ip:port"
 *   "http.method", "http.path", "http.query"
 *   "header.<name>"       request headers, name in lower case
 *   "param.<name>"        route parameters
 *   "auth.*"              free for authentication middleware
 * Response metadata ("header.<name>") becomes response headers on HTTP.
 *
 * A call is used by one thread at a time: its starter until call_dispatch,
 * then each middleware and the handler in turn. Only completion, call_send,
 * call_cancel and call_release may come from other threads.
 */

/* The outcome of a call, passed to the starter's on_complete. Borrowed for
 * the duration of that callback. */
typedef struct kn_response {
    uint32_t struct_size;
    kn_status status;          /* KN_OK or an error */
    kn_bytes body;             /* status OK: the result */
    const char *content_type;  /* status OK: e.g. "application/json" */
    kn_bytes error_message;    /* status != OK: one line, UTF-8 */
    kn_bytes error_details;    /* status != OK: JSON object or empty */
    size_t meta_count;         /* response metadata: read with host->response_meta_at */
    const void *meta_handle;   /* opaque, for host->response_meta_at */
} kn_response;

/* Called exactly once when a started call completes, on the thread that
 * completed it (possibly inside host->call_dispatch). */
typedef void (*kn_complete_fn)(void *user_data, const kn_response *response);

/* Streamed items of a SERVER_STREAM or BIDI_STREAM call, in order, on the
 * thread that sent them. `item` is borrowed. Return false to signal the
 * consumer is full: the sender's call_send then returns KN_ERR_UNAVAILABLE
 * (backpressure) and the item is dropped by the sender's choice to retry. */
typedef bool (*kn_stream_item_fn)(void *user_data, kn_bytes item);

typedef struct kn_call_callbacks {
    uint32_t struct_size;
    kn_complete_fn on_complete;      /* required */
    kn_stream_item_fn on_item;       /* streaming endpoints; may be NULL */
    void *user_data;                 /* owned by the starter; not released by the kernel */
} kn_call_callbacks;

/* ======================================================================== */
/* 5. The host API table                                                   */
/* ======================================================================== */
/*
 * One table for the process, valid until the process exits. Every function
 * takes the calling plugin (`self`) or a call; every function is callable
 * from any thread unless it says "control". Functions appended in a later
 * minor version are at the end; check `struct_size` before using one.
 */
struct kn_host_api {
    uint32_t struct_size;
    uint16_t abi_major;
    uint16_t abi_minor;

    /* --- About the plugin ------------------------------------------------ */

    /* Logs one line under the plugin's name. `message` borrowed, NUL-terminated. */
    void (*log)(kn_plugin *self, int32_t level, const char *message);
    /* Why init or start failed; shown in the kernel's log and by kernelctl.
     * Copied. Control thread. */
    void (*set_error)(kn_plugin *self, const char *message);
    /* The value of `key` in the plugin's configuration section (config file
     * [<name>] plus --set <name>.<key>=<value>), or NULL. Borrowed: valid
     * until stop returns. */
    const char *(*config_get)(kn_plugin *self, const char *key);
    /* The plugin's own data directory (created): <data>/plugins/<name>.
     * Borrowed: valid until stop returns. */
    const char *(*data_dir)(kn_plugin *self);
    /* Counters and gauges shown by `kernelctl info`. `name` copied. */
    void (*metric_add)(kn_plugin *self, const char *name, int64_t delta);
    void (*metric_set)(kn_plugin *self, const char *name, int64_t value);

    /* --- Registrations (control thread: from init, or start) --------------- */

    kn_status (*register_endpoint)(kn_plugin *self, const kn_endpoint_def *def);
    kn_status (*register_route)(kn_plugin *self, const kn_route_def *def);
    kn_status (*register_middleware)(kn_plugin *self, const kn_middleware_def *def);
    kn_status (*register_transport)(kn_plugin *self, const kn_transport_def *def);
    kn_status (*register_job)(kn_plugin *self, const kn_job_def *def);
    kn_status (*register_event_handler)(kn_plugin *self, const kn_event_handler_def *def);
    /* A named service: a table of functions other plugins look up. `table`
     * is owned by the plugin and must stay valid until the plugin stops; by
     * convention it starts with a uint32_t struct_size and only grows. */
    kn_status (*register_service)(kn_plugin *self, const char *name, uint32_t major,
                                  uint32_t minor, const void *table);
    /* Finds a service of the same `major` and a minor >= `min_minor`. Stores
     * the provider's table (borrowed: valid while that version of the
     * provider runs; list the provider in `depends_on` so it cannot be
     * unloaded under you, and look the table up again after the event
     * "kernel.plugin.reloaded" names it) and its minor. KN_ERR_NOT_FOUND if
     * none. Any thread. */
    kn_status (*lookup_service)(kn_plugin *self, const char *name, uint32_t major,
                                uint32_t min_minor, const void **table, uint32_t *minor);

    /* --- Handling a call (handler or middleware side) --------------------- */

    const char *(*call_endpoint)(kn_call *call);   /* borrowed until completion */
    kn_bytes (*call_body)(kn_call *call);          /* borrowed until completion */
    const char *(*call_content_type)(kn_call *call); /* borrowed until completion; may be "" */
    /* Reads request metadata. Stores a slice borrowed until completion or
     * the next call_meta_set of the same key. false if absent. */
    bool (*call_meta_get)(kn_call *call, const char *key, kn_bytes *value);
    /* Adds or replaces request metadata (middleware: e.g. "auth.subject").
     * Copied. Not concurrently with other accesses to the same call. */
    kn_status (*call_meta_set)(kn_call *call, const char *key, kn_bytes value);
    /* Adds or replaces response metadata ("header.etag", ...). Copied. */
    kn_status (*call_response_meta_set)(kn_call *call, const char *key, kn_bytes value);
    /* Completes the call with a result. `body` and `content_type` copied.
     * Exactly once per call, any thread; a second completion returns
     * KN_ERR_ALREADY_COMPLETED and changes nothing. */
    kn_status (*call_respond)(kn_call *call, kn_bytes body, const char *content_type);
    /* Completes the call with an error. `message` (NUL-terminated) and
     * `details` (a JSON object, or an empty slice) copied. */
    kn_status (*call_fail)(kn_call *call, kn_status status, const char *message,
                           kn_bytes details);
    /* Streaming endpoints: sends one item to the caller, in order. Copied.
     * KN_ERR_CANCELLED once the call is cancelled; KN_ERR_UNAVAILABLE when
     * the consumer is full (send again later or fail the call). */
    kn_status (*call_send)(kn_call *call, kn_bytes item);
    /* Middleware: passes the call to the next middleware or the handler. */
    void (*call_next)(kn_call *call);
    /* Observes the outcome: `fn` runs once, as the call completes, before the
     * starter's on_complete, in reverse order of registration. Register it
     * before passing the call on (call_next): afterwards the call may already
     * be complete (KN_ERR_ALREADY_COMPLETED) or gone. */
    kn_status (*call_on_complete)(kn_call *call, kn_complete_fn fn, void *user_data);
    /* One pointer of the handler's own per call (e.g. stream state). */
    void (*call_set_user)(kn_call *call, void *user);
    void *(*call_get_user)(kn_call *call);
    /* Reads response metadata of a kn_response, i from 0 to meta_count-1.
     * Slices borrowed like the response. */
    bool (*response_meta_at)(const kn_response *response, size_t i, kn_bytes *key,
                             kn_bytes *value);

    /* --- Starting a call (transport or plugin side) ------------------------ */

    /* A new call, owned by the caller (release it with call_release).
     * `protocol` copied ("http", "internal", ...). Any thread. */
    kn_call *(*call_new)(kn_plugin *self, const char *protocol);
    /* Targets an endpoint by name. Copied. */
    kn_status (*call_set_endpoint)(kn_call *call, const char *endpoint);
    /* Targets the endpoint of the HTTP route matching `method` and `path`
     * (path only, no query), and sets "param.*" metadata. KN_ERR_NOT_FOUND
     * when no route matches the path, KN_ERR_METHOD_NOT_ALLOWED when one
     * matches it with another method. */
    kn_status (*call_set_route)(kn_call *call, const char *method, const char *path);
    /* Sets the request body. Copied. */
    kn_status (*call_set_body)(kn_call *call, kn_bytes body, const char *content_type);
    /* Runs the call: middleware, then the handler. `callbacks` copied;
     * on_complete runs exactly once, possibly before call_dispatch returns.
     * A call is dispatched at most once. */
    void (*call_dispatch)(kn_call *call, const kn_call_callbacks *callbacks);
    /* Bidirectional streams: passes one client item to the handler. Copied.
     * Call it in order, from one thread at a time. KN_ERR_UNAVAILABLE while
     * the call has not reached its handler yet (a middleware still holds it):
     * push it again later. */
    kn_status (*call_push)(kn_call *call, kn_bytes item);
    /* Cancels a dispatched call (client gone, timeout). The handler's
     * on_cancel runs; the call still completes exactly once. */
    void (*call_cancel)(kn_call *call);
    /* Gives back the starter's reference. The call stays alive inside the
     * kernel until it completes. Any thread. */
    void (*call_release)(kn_call *call);

    /* --- Events and jobs --------------------------------------------------- */

    /* Publishes an event to every matching handler, asynchronously. Copied. */
    kn_status (*publish)(kn_plugin *self, const char *topic, kn_bytes payload);
    /* Runs job `name` now, in the background, and reports its outcome to
     * `callbacks`. Copied. */
    kn_status (*job_run)(kn_plugin *self, const char *name, kn_bytes payload,
                         const kn_call_callbacks *callbacks);
    /* Queues job `name` to run after `delay_ms`, retried with backoff up to
     * its max_attempts. Stores the job id in `job_id` (may be NULL). Copied. */
    kn_status (*job_enqueue)(kn_plugin *self, const char *name, kn_bytes payload,
                             uint64_t delay_ms, uint64_t *job_id);

    /* --- Sockets ----------------------------------------------------------- */

    /* A listening TCP socket on `host`:`port`, owned by the kernel and kept
     * across reloads of the plugin so no connection is refused while it is
     * replaced. Stores a duplicate descriptor, owned by the plugin (close it
     * in stop), and the bound port (useful when `port` is 0). Control thread. */
    kn_status (*listen)(kn_plugin *self, const char *host, uint16_t port, int *fd,
                        uint16_t *bound_port);

    /* --- Identity ------------------------------------------------------- */

    /* The name of a plugin, e.g. of the caller of a service function that
     * takes a kn_plugin * (services use it to namespace what they keep).
     * Borrowed: valid until that plugin stops. Any thread. */
    const char *(*plugin_name)(kn_plugin *plugin);
};

#ifdef __cplusplus
}
#endif

#endif /* KN_PLUGIN_H */
