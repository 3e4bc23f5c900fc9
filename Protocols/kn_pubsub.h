/*
 * kn_pubsub.h: the `pubsub` service, version 1.0: the event log of the core
 * plugin `pubsub`, and what plugins add to it: authorization filters,
 * publish rules and durable consumers.
 *
 * Plugins publish with host->publish and host->publish_event (kn_plugin.h);
 * the kernel hands every publish to this service's `publish` when a
 * provider is registered. Plugins that filter or consume list "pubsub" in
 * depends_on and look the table up (host->lookup_service, KN_PUBSUB_SERVICE,
 * major KN_PUBSUB_MAJOR).
 *
 * The words are those of kn_plugin.h (callback, borrowed, copied, any
 * thread). Topics, patterns, the wire protocol and the configuration are in
 * Protocols/pubsub.md.
 */
#ifndef KN_PUBSUB_H
#define KN_PUBSUB_H

#include "kn_plugin.h"

#ifdef __cplusplus
extern "C" {
#endif

#define KN_PUBSUB_SERVICE "pubsub"
#define KN_PUBSUB_MAJOR 1
#define KN_PUBSUB_MINOR 0

/* A subscriber, as filters see it: the "auth.*" metadata of the call that
 * subscribed (a remote client), or the owner of a durable consumer. */
typedef struct kn_subscriber {
    uint32_t struct_size;      /* sizeof(kn_subscriber) */
    const char *user;          /* "auth.subject", or NULL */
    const char *tenant;        /* "auth.tenant", or NULL */
    const char *roles;         /* "auth.roles", comma-separated, or NULL */
    const char *protocol;      /* "ws", "tcp", "http", "admin"; "consumer"
                                  for a durable consumer */
} kn_subscriber;

/* Decides whether `subscriber` may see `event`: true allows. It runs for
 * every delivery: live, catch-up, long-poll and SSE, after the default rule
 * allowed it (a filter narrows, never widens), and for durable consumers
 * (protocol "consumer", no user or tenant: the default rule does not apply
 * to plugins), where a refusal skips the event for that consumer. `event`
 * and `subscriber` borrowed for the duration of the callback. Any thread,
 * concurrently: keep it fast and do not block. */
typedef bool (*kn_event_filter_fn)(void *user_data, const kn_event *event,
                                   const kn_subscriber *subscriber);

/* Decides whether `publisher` (the publishing plugin's name; "pubsub" for
 * a remote client's POST /events or kernelctl, whose user and tenant are in
 * `context`) may publish on `topic` with `context`: true allows; a refusal
 * is KN_ERR_FORBIDDEN to the publisher. Borrowed for the duration of the
 * callback. Any thread, concurrently. */
typedef bool (*kn_publish_rule_fn)(void *user_data, const char *topic,
                                   const kn_event_context *context,
                                   const char *publisher);

/* A delivery to a durable consumer, to finish with delivery_done exactly
 * once. Owned by the service until then. */
typedef struct kn_delivery kn_delivery;

/* Receives one event of a durable consumer: `event` borrowed until
 * delivery_done; `attempt` counts from 1. One delivery at a time per
 * consumer, in offset order: the next waits for delivery_done. Runs on a
 * service thread; finish on any thread. */
typedef void (*kn_consume_fn)(void *user_data, const kn_event *event, uint32_t attempt,
                              kn_delivery *delivery);

typedef struct kn_consumer_def {
    uint32_t struct_size;      /* sizeof(kn_consumer_def) */
    const char *name;          /* [A-Za-z0-9._-]{1,128}; its cursor is kept
                                  under this name across restarts and reloads */
    const char *pattern;       /* topic pattern (Protocols/pubsub.md) */
    kn_consume_fn handler;     /* required */
    void *user_data;           /* passed to handler; yours */
    uint32_t max_attempts;     /* then the event is put aside as dead; 0: 5 */
    uint64_t backoff_ms;       /* retry n waits backoff_ms * 2^(n-1), at most
                                  1 h, +-10 %; 0: 1000 */
    int64_t start_at_ms;       /* a new consumer starts with the events
                                  after this time; 0: new events only, -1:
                                  every stored event */
} kn_consumer_def;

typedef struct kn_pubsub_api {
    uint32_t struct_size;      /* sizeof(kn_pubsub_api); grows at the end */

    /* The kernel's hand-over of a publish: stores `event` (topic, payload,
     * publisher, time and context; its id and offset are ignored) when the
     * topic is kept, hands it to remote subscribers and durable consumers,
     * then calls `done` exactly once with the offset (0: not kept), on any
     * thread, possibly before publish returns. The kernel delivers to the
     * handlers of kn_event_handler_def after KN_OK. `event` borrowed for
     * the duration of the call. Any thread; never blocks.
     *   KN_OK: `done` will run (with KN_ERR_FORBIDDEN when a publish rule
     *     refuses, KN_ERR_UNAVAILABLE when the store fails).
     *   Any other status: nothing was published; `done` is never called. */
    kn_status (*publish)(kn_plugin *caller, const kn_event *event, kn_publish_done_fn done,
                         void *user_data);

    /* Adds a filter for the events matching `pattern`; stores its handle in
     * `*handle`. `pattern` copied. KN_ERR_INVALID_ARGUMENT for a bad
     * pattern. Any thread. Remove it (remove) in stop at the latest: the
     * service calls `allow` until then. */
    kn_status (*add_filter)(kn_plugin *caller, const char *pattern, kn_event_filter_fn allow,
                            void *user_data, uint64_t *handle);

    /* Adds a publish rule for the topics matching `pattern`, like
     * add_filter. Every matching rule must allow a publish. */
    kn_status (*add_publish_rule)(kn_plugin *caller, const char *pattern,
                                  kn_publish_rule_fn allow, void *user_data, uint64_t *handle);

    /* Starts the durable consumer `def` (copied): at-least-once, in offset
     * order, from its stored cursor (or def->start_at_ms when new). A
     * failed delivery is retried with backoff; after max_attempts the
     * event is put aside as dead (kernelctl events dead) and the cursor
     * moves on. KN_ERR_CONFLICT when another running plugin consumes under
     * `name`. Any thread. Remove it in stop at the latest: an event whose
     * delivery is not finished then is delivered again. */
    kn_status (*consume)(kn_plugin *caller, const kn_consumer_def *def, uint64_t *handle);

    /* Finishes a delivery: KN_OK acknowledges it (the cursor moves on);
     * another status fails the attempt, `message` (copied; may be NULL)
     * saying why. Exactly once per delivery. Any thread. */
    void (*delivery_done)(kn_delivery *delivery, kn_status status, const char *message);

    /* Removes a filter, rule or consumer of `caller`. A consumer's delivery
     * in progress may still finish. Any thread. */
    void (*remove)(kn_plugin *caller, uint64_t handle);
} kn_pubsub_api;

#ifdef __cplusplus
}
#endif

#endif /* KN_PUBSUB_H */
