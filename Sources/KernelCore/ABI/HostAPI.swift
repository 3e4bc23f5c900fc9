import CKernelABI
import Glibc

/// The `kn_host_api` table handed to every plugin: thin C entry points that
/// find the plugin or call behind a handle and forward to Swift.
enum HostAPI {
    /// One table for the process; plugins keep the pointer forever.
    nonisolated(unsafe) static let table: UnsafeMutablePointer<kn_host_api> = {
        let pointer = UnsafeMutablePointer<kn_host_api>.allocate(capacity: 1)
        pointer.initialize(to: makeTable())
        return pointer
    }()

    private static func makeTable() -> kn_host_api {
        var api = kn_host_api()
        api.struct_size = UInt32(MemoryLayout<kn_host_api>.size)
        api.abi_major = UInt16(KN_ABI_MAJOR)
        api.abi_minor = UInt16(KN_ABI_MINOR)

        // About the plugin
        api.log = { plugin, level, message in
            guard let plugin, let message else { return }
            let instance = PluginInstance.from(plugin)
            instance.kernel.pluginLog(instance, level: level, String(cString: message))
        }
        api.set_error = { plugin, message in
            guard let plugin else { return }
            PluginInstance.from(plugin).lastError = optionalString(message)
        }
        api.config_get = { plugin, key in
            guard let plugin, let key else { return nil }
            return PluginInstance.from(plugin).configValue(String(cString: key))
        }
        api.data_dir = { plugin in
            guard let plugin else { return nil }
            return PluginInstance.from(plugin).dataDirectoryPath
        }
        api.metric_add = { plugin, name, delta in
            guard let plugin, let name else { return }
            PluginInstance.from(plugin).addMetric(String(cString: name), delta)
        }
        api.metric_set = { plugin, name, value in
            guard let plugin, let name else { return }
            PluginInstance.from(plugin).setMetric(String(cString: name), value)
        }

        // Registrations
        api.register_endpoint = { plugin, def in
            guard let plugin, let def = readDefinition(def) else { return KN_ERR_INVALID_ARGUMENT }
            return PluginInstance.from(plugin).register(endpoint: def)
        }
        api.register_route = { plugin, def in
            guard let plugin, let def = readDefinition(def) else { return KN_ERR_INVALID_ARGUMENT }
            return PluginInstance.from(plugin).register(route: def)
        }
        api.register_middleware = { plugin, def in
            guard let plugin, let def = readDefinition(def) else { return KN_ERR_INVALID_ARGUMENT }
            return PluginInstance.from(plugin).register(middleware: def)
        }
        api.register_transport = { plugin, def in
            guard let plugin, let def = readDefinition(def) else { return KN_ERR_INVALID_ARGUMENT }
            return PluginInstance.from(plugin).register(transport: def)
        }
        api.register_job = { plugin, def in
            guard let plugin, let def = readDefinition(def) else { return KN_ERR_INVALID_ARGUMENT }
            return PluginInstance.from(plugin).register(job: def)
        }
        api.register_event_handler = { plugin, def in
            guard let plugin, let def = readDefinition(def) else { return KN_ERR_INVALID_ARGUMENT }
            return PluginInstance.from(plugin).register(eventHandler: def)
        }
        api.register_service = { plugin, name, major, minor, table in
            guard let plugin, let name, let table else { return KN_ERR_INVALID_ARGUMENT }
            return PluginInstance.from(plugin).register(
                service: String(cString: name), major: major, minor: minor, table: table)
        }
        api.lookup_service = { plugin, name, major, minMinor, table, minor in
            guard plugin != nil, let name, let table else { return KN_ERR_INVALID_ARGUMENT }
            let instance = PluginInstance.from(plugin!)
            guard let entry = instance.kernel.registry.service(
                named: String(cString: name), major: major, minMinor: minMinor) else { return KN_ERR_NOT_FOUND }
            table.pointee = entry.table
            minor?.pointee = entry.minor
            return KN_OK
        }

        // Handling a call
        api.call_endpoint = { call in
            guard let call else { return nil }
            return Call.with(call) { $0.endpointCString }
        }
        api.call_body = { call in
            guard let call else { return .empty }
            return Call.with(call) { $0.body.bytes }
        }
        api.call_content_type = { call in
            guard let call else { return nil }
            return Call.from(call).contentType.cString
        }
        api.call_meta_get = { call, key, value in
            guard let call, let key, let entry = Call.from(call).meta(String(cString: key)) else { return false }
            value?.pointee = entry.bytes
            return true
        }
        api.call_meta_set = { call, key, value in
            guard let call, let key else { return KN_ERR_INVALID_ARGUMENT }
            Call.from(call).setMeta(String(cString: key), OwnedBuffer(value))
            return KN_OK
        }
        api.call_response_meta_set = { call, key, value in
            guard let call, let key else { return KN_ERR_INVALID_ARGUMENT }
            Call.with(call) { $0.setResponseMeta(key, value) }
            return KN_OK
        }
        api.call_respond = { call, body, contentType in
            guard let call else { return KN_ERR_INVALID_ARGUMENT }
            return Call.from(call).respond(body, contentType: contentType)
        }
        api.call_fail = { call, status, message, details in
            guard let call else { return KN_ERR_INVALID_ARGUMENT }
            return Call.from(call).fail(status, optionalString(message) ?? Status.name(status), details: details)
        }
        api.call_send = { call, item in
            guard let call else { return KN_ERR_INVALID_ARGUMENT }
            return Call.from(call).send(item)
        }
        api.call_next = { call in
            guard let call else { return }
            Call.from(call).next()
        }
        api.call_on_complete = { call, function, userData in
            guard let call, let function else { return KN_ERR_INVALID_ARGUMENT }
            return Call.from(call).onComplete(function, userData)
        }
        api.call_set_user = { call, user in
            guard let call else { return }
            Call.from(call).user = user
        }
        api.call_get_user = { call in
            guard let call else { return nil }
            return Call.from(call).user
        }
        api.call_response_meta_get = { call, key, value in
            guard let call, let key, let entry = Call.from(call).responseMeta(String(cString: key)) else { return false }
            value?.pointee = entry.bytes
            return true
        }
        api.response_meta_at = { response, index, key, value in
            guard let response, let handle = response.pointee.meta_handle else { return false }
            let call = Unmanaged<Call>.fromOpaque(handle).takeUnretainedValue()
            guard let entry = call.responseMeta(at: index) else { return false }
            key?.pointee = entry.key.bytes
            value?.pointee = entry.value.bytes
            return true
        }

        // Starting a call
        api.call_new = { plugin, protocolName in
            guard let plugin else { return nil }
            return Unmanaged<PluginInstance>.fromOpaque(UnsafeRawPointer(plugin))._withUnsafeGuaranteedRef { starter in
                Call.newHandle(kernel: starter.kernel, protocolName: protocolName, starterSignalsReady: starter.signalsReady)
            }
        }
        api.call_set_endpoint = { call, endpoint in
            guard let call, let endpoint else { return KN_ERR_INVALID_ARGUMENT }
            Call.with(call) { $0.setEndpoint(String(cString: endpoint)) }
            return KN_OK
        }
        api.call_set_route = { call, method, path in
            guard let call, let method, let path else { return KN_ERR_INVALID_ARGUMENT }
            return Call.from(call).setRoute(method: String(cString: method), path: String(cString: path))
        }
        api.call_set_body = { call, body, contentType in
            guard let call else { return KN_ERR_INVALID_ARGUMENT }
            Call.from(call).setBody(body, contentType: optionalString(contentType))
            return KN_OK
        }
        api.call_dispatch = { call, callbacks in
            guard let call else { return }
            let target = Call.from(call)
            guard let callbacks = readDefinition(callbacks), callbacks.on_complete != nil else {
                target.kernel.logger.error("call_dispatch: callbacks missing, without struct_size or on_complete; the call is not run")
                return
            }
            target.dispatch(callbacks)
        }
        api.call_push = { call, item in
            guard let call else { return KN_ERR_INVALID_ARGUMENT }
            return Call.from(call).push(item)
        }
        api.call_cancel = { call in
            guard let call else { return }
            Call.from(call).cancel()
        }
        api.call_release = { call in
            guard let call else { return }
            Call.from(call).releaseHandle()
        }
        api.call_ready = { call in
            guard let call else { return }
            Call.from(call).ready()
        }

        // Events and jobs
        api.publish = { plugin, topic, payload in
            guard let plugin, let topic else { return KN_ERR_INVALID_ARGUMENT }
            let instance = PluginInstance.from(plugin)
            let publication = Publication(topic: String(cString: topic), payload: payload.array, publisher: instance.name,
                                          publishedAt: currentMilliseconds(), context: .none)
            return PublishWaiter.publish(publication, on: instance.kernel.events, from: plugin)
        }
        api.job_run = { plugin, name, payload, callbacks in
            guard let plugin, let name, let callbacks = readDefinition(callbacks), callbacks.on_complete != nil
            else { return KN_ERR_INVALID_ARGUMENT }
            return PluginInstance.from(plugin).kernel.jobs.run(
                String(cString: name), payload: payload.array, callbacks: callbacks)
        }
        api.job_enqueue = { plugin, name, payload, delay, jobID in
            guard let plugin, let name else { return KN_ERR_INVALID_ARGUMENT }
            let result = PluginInstance.from(plugin).kernel.jobs.enqueue(
                from: plugin, String(cString: name), payload: payload, delayMilliseconds: delay)
            switch result {
            case .success(let id):
                jobID?.pointee = id
                return KN_OK
            case .failure(let error):
                return error.status
            }
        }

        // Sockets
        api.listen = { plugin, host, port, fd, boundPort in
            guard let plugin, let fd else { return KN_ERR_INVALID_ARGUMENT }
            let instance = PluginInstance.from(plugin)
            switch instance.kernel.listeners.listen(
                plugin: instance.name, host: optionalString(host) ?? "0.0.0.0", port: port) {
            case .success(let listener):
                instance.requestedListeners.insert(ListenerPool.key(host: listener.host, port: listener.requestedPort))
                fd.pointee = listener.fd
                boundPort?.pointee = listener.port
                return KN_OK
            case .failure(let error):
                instance.kernel.pluginLog(instance, level: Int32(KN_LOG_ERROR), error.message)
                return error.status
            }
        }

        // Durable jobs and schedules (1.2)
        api.job_submit = { plugin, name, payload, options, done, userData in
            guard let plugin, let name, let done else { return KN_ERR_INVALID_ARGUMENT }
            return PluginInstance.from(plugin).kernel.jobs.submit(
                from: plugin, String(cString: name), payload: payload, options: options, done: done, userData: userData)
        }
        api.call_set_job = { call, name in
            guard let call, let name else { return KN_ERR_INVALID_ARGUMENT }
            let job = String(cString: name)
            return Call.with(call) { call in
                guard call.kernel.registry.job(named: job) != nil else { return KN_ERR_NOT_FOUND }
                call.setJob(job)
                return KN_OK
            }
        }
        api.register_schedule = { plugin, def in
            guard let plugin, let def = readDefinition(def) else { return KN_ERR_INVALID_ARGUMENT }
            return PluginInstance.from(plugin).register(schedule: def)
        }
        // Events with a context (1.3)
        api.publish_event = { plugin, topic, payload, options, done, userData in
            guard let plugin, let topic else { return KN_ERR_INVALID_ARGUMENT }
            let instance = PluginInstance.from(plugin)
            var context = EventContext.none
            if let options {
                guard options.pointee.struct_size >= UInt32(MemoryLayout<kn_publish_options>.size) else { return KN_ERR_INVALID_ARGUMENT }
                if let call = options.pointee.call { context = Call.with(call) { EventContext(of: $0) } }
                if let explicit = options.pointee.context { context.override(with: explicit.pointee) }
            }
            let publication = Publication(topic: String(cString: topic), payload: payload.array, publisher: instance.name,
                                          publishedAt: currentMilliseconds(), context: context)
            let report: EventBus.Done? = done.map { done in
                let userData = UncheckedPointer(userData)
                return { status, offset, message in done(userData.pointer, status, offset, message) }
            }
            return instance.kernel.events.publish(publication, from: plugin, done: report)
        }
        api.schedules_list = { plugin, visit, userData in
            guard let plugin, let visit else { return }
            for entry in PluginInstance.from(plugin).kernel.registry.allSchedules {
                entry.withDefinition { def in
                    entry.ownerName.withCString { owner in visit(userData, owner, def) }
                }
            }
        }

        addMiddlewareFunctions(to: &api)

        // Identity
        api.plugin_name = { plugin in
            guard let plugin else { return nil }
            return PluginInstance.from(plugin).nameBuffer.cString
        }
        return api
    }
}

/// Copies a plugin's definition struct as far as its struct_size reaches;
/// fields the plugin's (older) header did not have read as zero.
func readDefinition<T>(_ pointer: UnsafePointer<T>?) -> T? {
    guard let pointer else { return nil }
    let declared = Int(UnsafeRawPointer(pointer).load(as: UInt32.self))
    guard declared >= MemoryLayout<UInt32>.size * 2 else { return nil }
    let size = MemoryLayout<T>.size
    if declared >= size { return pointer.pointee }
    let storage = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: MemoryLayout<T>.alignment)
    defer { storage.deallocate() }
    memset(storage, 0, size)
    memcpy(storage, pointer, min(declared, size))
    return storage.load(as: T.self)
}
