/* slow.wait: answers after 50 ms from a thread of its own, never holding the
 * transport's thread: a service whose capacity is its in-flight limit / 50 ms. */
#define _DEFAULT_SOURCE
#include <kn_plugin.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

static const kn_host_api *host;

static void *answer_later(void *call) {
    usleep(50 * 1000);
    kn_bytes body = { (const uint8_t *)"{}", 2 };
    host->call_respond(call, body, "application/json");
    return NULL;
}

static void wait_handler(void *user_data, kn_call *call) {
    (void)user_data;
    pthread_t thread;
    if (pthread_create(&thread, NULL, answer_later, call) != 0) {
        host->call_fail(call, KN_ERR_UNAVAILABLE, "no thread", (kn_bytes){ NULL, 0 });
        return;
    }
    pthread_detach(thread);
}

static kn_status init(kn_plugin *self) {
    kn_endpoint_def def;
    memset(&def, 0, sizeof def);
    def.struct_size = sizeof def;
    def.name = "slow.wait";
    def.handler = wait_handler;
    return host->register_endpoint(self, &def);
}

static const kn_plugin_descriptor descriptor = {
    .struct_size = sizeof(kn_plugin_descriptor), .abi_major = KN_ABI_MAJOR, .abi_minor = KN_ABI_MINOR,
    .name = "slow", .version = "1.0.0", .init = init,
};

const kn_plugin_descriptor *kn_plugin_entry(const kn_host_api *h) { host = h; return &descriptor; }
