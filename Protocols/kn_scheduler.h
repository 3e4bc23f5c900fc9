/*
 * kn_scheduler.h: the `scheduler` service, version 1.0: where the kernel
 * stores enqueued jobs when the core plugin `scheduler` is loaded.
 *
 * Plugins do not call this service: they call host->job_enqueue and
 * host->job_submit (kn_plugin.h), and the kernel forwards each enqueue here
 * when a provider is registered, or keeps the job in its memory when none
 * is. A plugin that replaces the core scheduler provides this table under
 * KN_SCHEDULER_SERVICE, major KN_SCHEDULER_MAJOR.
 *
 * The words are those of kn_plugin.h (callback, borrowed, copied, any
 * thread). Operations, schedules and the job model are in
 * Protocols/scheduler-service.md.
 */
#ifndef KN_SCHEDULER_H
#define KN_SCHEDULER_H

#include "kn_plugin.h"

#ifdef __cplusplus
extern "C" {
#endif

#define KN_SCHEDULER_SERVICE "scheduler"
#define KN_SCHEDULER_MAJOR 1
#define KN_SCHEDULER_MINOR 0

typedef struct kn_scheduler_api {
    uint32_t struct_size;      /* sizeof(kn_scheduler_api); grows at the end */

    /* Stores job `name` for `caller` (the plugin that enqueued it), with
     * `options` (NULL: defaults), then calls `done` (kn_job_done_fn) exactly
     * once, on any thread, possibly before submit returns. The contract of
     * host->job_submit: the kernel has checked that the job is registered,
     * and passes the options with struct_size set to its own and
     * max_attempts filled in from the job's definition when it was 0.
     * `name`, `payload` and `options` copied. Any thread; never blocks.
     *   KN_OK: `done` will run.
     *   Any other status: nothing was stored and `done` is never called. */
    kn_status (*submit)(kn_plugin *caller, const char *name, kn_bytes payload,
                        const kn_job_options *options, kn_job_done_fn done,
                        void *user_data);
} kn_scheduler_api;

#ifdef __cplusplus
}
#endif

#endif /* KN_SCHEDULER_H */
