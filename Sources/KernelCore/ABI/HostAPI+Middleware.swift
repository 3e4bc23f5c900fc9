import CKernelABI

/// The host functions of ABI 1.4: error handlers and per-call log lines.
extension HostAPI {
    static func addMiddlewareFunctions(to api: inout kn_host_api) {
        api.register_error_handler = { plugin, def in
            guard let plugin, let def = readDefinition(def) else { return KN_ERR_INVALID_ARGUMENT }
            return PluginInstance.from(plugin).register(errorHandler: def)
        }
        api.call_error_rewrite = { call, message, details in
            guard let call else { return KN_ERR_INVALID_ARGUMENT }
            return Call.with(call) { $0.rewriteFailure(message: message, details: details) }
        }
        api.call_log = { plugin, call, level, message in
            guard let plugin, let call, let message else { return }
            let instance = PluginInstance.from(plugin)
            Call.with(call) { instance.kernel.callLog(instance, $0, level: level, String(cString: message)) }
        }
    }
}
