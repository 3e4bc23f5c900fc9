/*
 * Prints the size of every ABI 1.0 struct and the offset and size of each of
 * its fields, one per line. Compiled once against Tests/Fixtures/abi-1.0 and
 * once against Protocols with -DKN_LAYOUT_CURRENT: the two outputs must be
 * equal, because later minors only append. Fields renamed since 1.0 are
 * printed under their 1.0 names.
 */
#include <stdio.h>

#include <kn_plugin.h> /* from -I only: the fixture or Protocols */

#ifdef KN_LAYOUT_CURRENT
#define MIDDLEWARE_HANDLER handler
#define EVENT_HANDLER handler
#else
#define MIDDLEWARE_HANDLER fn
#define EVENT_HANDLER fn
#endif

#define FIELD(type, field, name) \
    printf("%s.%s %zu %zu\n", #type, name, offsetof(type, field), sizeof(((type *)0)->field))
#define F(type, field) FIELD(type, field, #field)
/* Size of the 1.0 part of a struct: the end of its last 1.0 field. */
#define END(type, last) \
    printf("%s end %zu\n", #type, offsetof(type, last) + sizeof(((type *)0)->last))

int main(void) {
    F(kn_bytes, ptr); F(kn_bytes, len); END(kn_bytes, len);

    F(kn_plugin_descriptor, struct_size); F(kn_plugin_descriptor, abi_major);
    F(kn_plugin_descriptor, abi_minor); F(kn_plugin_descriptor, name);
    F(kn_plugin_descriptor, version); F(kn_plugin_descriptor, depends_on);
    F(kn_plugin_descriptor, init); F(kn_plugin_descriptor, start);
    F(kn_plugin_descriptor, stop); F(kn_plugin_descriptor, flags);
    F(kn_plugin_descriptor, description); END(kn_plugin_descriptor, description);

    F(kn_endpoint_def, struct_size); F(kn_endpoint_def, name); F(kn_endpoint_def, kind);
    F(kn_endpoint_def, handler); F(kn_endpoint_def, on_item); F(kn_endpoint_def, on_cancel);
    F(kn_endpoint_def, user_data); F(kn_endpoint_def, release); F(kn_endpoint_def, description);
    END(kn_endpoint_def, description);

    F(kn_route_def, struct_size); F(kn_route_def, method); F(kn_route_def, path);
    F(kn_route_def, endpoint); END(kn_route_def, endpoint);

    F(kn_middleware_def, struct_size); F(kn_middleware_def, name); F(kn_middleware_def, order);
    F(kn_middleware_def, endpoints); FIELD(kn_middleware_def, MIDDLEWARE_HANDLER, "fn");
    F(kn_middleware_def, user_data); F(kn_middleware_def, release); END(kn_middleware_def, release);

    F(kn_transport_def, struct_size); F(kn_transport_def, name); F(kn_transport_def, description);
    END(kn_transport_def, description);

    F(kn_job_def, struct_size); F(kn_job_def, name); F(kn_job_def, handler); F(kn_job_def, user_data);
    F(kn_job_def, release); F(kn_job_def, max_attempts); END(kn_job_def, max_attempts);

    F(kn_event, struct_size); F(kn_event, topic); F(kn_event, payload); F(kn_event, id);
    F(kn_event, publisher); F(kn_event, published_at_ms); END(kn_event, published_at_ms);

    F(kn_event_handler_def, struct_size); F(kn_event_handler_def, pattern);
    FIELD(kn_event_handler_def, EVENT_HANDLER, "fn"); F(kn_event_handler_def, user_data);
    F(kn_event_handler_def, release); END(kn_event_handler_def, release);

    F(kn_response, struct_size); F(kn_response, status); F(kn_response, body);
    F(kn_response, content_type); F(kn_response, error_message); F(kn_response, error_details);
    F(kn_response, meta_count); F(kn_response, meta_handle); END(kn_response, meta_handle);

    F(kn_call_callbacks, struct_size); F(kn_call_callbacks, on_complete); F(kn_call_callbacks, on_item);
    F(kn_call_callbacks, user_data); END(kn_call_callbacks, user_data);

    F(kn_host_api, struct_size); F(kn_host_api, abi_major); F(kn_host_api, abi_minor);
    F(kn_host_api, log); F(kn_host_api, set_error); F(kn_host_api, config_get); F(kn_host_api, data_dir);
    F(kn_host_api, metric_add); F(kn_host_api, metric_set);
    F(kn_host_api, register_endpoint); F(kn_host_api, register_route); F(kn_host_api, register_middleware);
    F(kn_host_api, register_transport); F(kn_host_api, register_job); F(kn_host_api, register_event_handler);
    F(kn_host_api, register_service); F(kn_host_api, lookup_service);
    F(kn_host_api, call_endpoint); F(kn_host_api, call_body); F(kn_host_api, call_content_type);
    F(kn_host_api, call_meta_get); F(kn_host_api, call_meta_set); F(kn_host_api, call_response_meta_set);
    F(kn_host_api, call_respond); F(kn_host_api, call_fail); F(kn_host_api, call_send); F(kn_host_api, call_next);
    F(kn_host_api, call_on_complete); F(kn_host_api, call_set_user); F(kn_host_api, call_get_user);
    F(kn_host_api, response_meta_at);
    F(kn_host_api, call_new); F(kn_host_api, call_set_endpoint); F(kn_host_api, call_set_route);
    F(kn_host_api, call_set_body); F(kn_host_api, call_dispatch); F(kn_host_api, call_push);
    F(kn_host_api, call_cancel); F(kn_host_api, call_release);
    F(kn_host_api, publish); F(kn_host_api, job_run); F(kn_host_api, job_enqueue);
    F(kn_host_api, listen); F(kn_host_api, plugin_name); END(kn_host_api, plugin_name);

    printf("KN_ABI_MAJOR %d\n", KN_ABI_MAJOR);
    return 0;
}
