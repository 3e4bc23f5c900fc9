import TopicPatterns
import CKernelABI

/// Registrations through the host API: validate, check names, record.
///
/// During init they accumulate and go live together when init succeeds
/// (`Kernel.commit`); made later (from start), each goes live at once.
extension PluginInstance {
    func register(endpoint def: kn_endpoint_def) -> kn_status {
        guard let name = optionalString(def.name), isValidEndpointName(name), let handler = def.handler else {
            return refuse("endpoint: a name of [A-Za-z0-9._-]{1,128} and a handler are required")
        }
        if def.kind == UInt32(KN_ENDPOINT_BIDI_STREAM) && def.on_item == nil {
            return refuse("endpoint '\(name)': a bidirectional stream needs on_item")
        }
        guard def.kind <= UInt32(KN_ENDPOINT_BIDI_STREAM) else { return refuse("endpoint '\(name)': unknown kind") }
        if let status = checkName(.endpoint, name, taken: registrations.endpoints.contains { $0.name == name }) {
            return status
        }
        let requestSchema = optionalString(def.request_schema), responseSchema = optionalString(def.response_schema)
        for (which, schema) in [("request", requestSchema), ("response", responseSchema)] {
            if let schema, let problem = JSONSchemaText.problem(schema) {
                return refuse("endpoint '\(name)': its \(which) schema \(problem)")
            }
        }
        return record { $0.endpoints.append(EndpointEntry(
            name: name, kind: def.kind, handler: handler, onItem: def.on_item, onCancel: def.on_cancel, onReady: def.on_ready,
            userData: def.user_data, release: def.release, summary: optionalString(def.description) ?? "",
            owner: self, requestSchema: requestSchema, responseSchema: responseSchema,
            idempotent: def.flags & UInt32(KN_ENDPOINT_IDEMPOTENT) != 0)) }
    }

    func register(route def: kn_route_def) -> kn_status {
        guard let method = optionalString(def.method)?.uppercased(), !method.isEmpty,
              let path = optionalString(def.path), path.hasPrefix("/"), let pattern = RoutePattern(path),
              let endpoint = optionalString(def.endpoint), isValidEndpointName(endpoint) else {
            return refuse("route: a method, a path starting with '/' and an endpoint name are required")
        }
        let route = RouteEntry(method: method, pattern: pattern, endpoint: endpoint, owner: self,
                               sequence: kernel.nextSequence())
        if let status = checkName(.route, route.key, taken: registrations.routes.contains { $0.key == route.key }) {
            return status
        }
        return record { $0.routes.append(route) }
    }

    func register(middleware def: kn_middleware_def) -> kn_status {
        guard let function = def.handler else { return refuse("middleware: a handler is required") }
        let name = optionalString(def.name) ?? "middleware"
        let pattern = optionalString(def.endpoints).flatMap { $0.isEmpty ? nil : $0 } ?? "*"
        return record { $0.middleware.append(MiddlewareEntry(
            name: name, order: def.order, pattern: pattern, function: function, userData: def.user_data,
            release: def.release, owner: self, sequence: kernel.nextSequence())) }
    }

    func register(errorHandler def: kn_error_handler_def) -> kn_status {
        guard let function = def.handler else { return refuse("error handler: a handler is required") }
        return record { $0.errorHandlers.append(ErrorHandlerEntry(
            name: optionalString(def.name) ?? "errors", order: def.order, function: function, userData: def.user_data,
            release: def.release, owner: self, sequence: kernel.nextSequence())) }
    }

    func register(transport def: kn_transport_def) -> kn_status {
        guard let name = optionalString(def.name), !name.isEmpty else { return refuse("transport: name is required") }
        if let status = checkName(.transport, name, taken: registrations.transports.contains { $0.name == name }) {
            return status
        }
        return record { $0.transports.append(TransportEntry(
            name: name, summary: optionalString(def.description) ?? "", owner: self)) }
    }

    func register(job def: kn_job_def) -> kn_status {
        guard let name = optionalString(def.name), isValidEndpointName(name), let handler = def.handler else {
            return refuse("job: a name and a handler are required")
        }
        if let status = checkName(.job, name, taken: registrations.jobs.contains { $0.name == name }) {
            return status
        }
        return record { $0.jobs.append(JobEntry(
            name: name, handler: handler, onCancel: def.on_cancel, userData: def.user_data, release: def.release,
            maxAttempts: def.max_attempts, owner: self)) }
    }

    func register(eventHandler def: kn_event_handler_def) -> kn_status {
        guard let pattern = optionalString(def.pattern), !pattern.isEmpty, let function = def.handler else {
            return refuse("event handler: a pattern and fn are required")
        }
        let checked: TopicPattern
        do {
            checked = try TopicPattern(validating: pattern)
        } catch {
            return refuse("event handler: \(error)")
        }
        return record { $0.eventHandlers.append(EventHandlerEntry(
            pattern: checked, function: function, userData: def.user_data, release: def.release,
            owner: self)) }
    }

    func register(service name: String, major: UInt32, minor: UInt32, table: UnsafeRawPointer) -> kn_status {
        guard !name.isEmpty else { return refuse("service: name is required") }
        let taken = registrations.services.contains { $0.name == name && $0.major == major }
        if let status = checkName(.service(major: major), name, taken: taken) { return status }
        return record { $0.services.append(ServiceEntry(name: name, major: major, minor: minor, table: table, owner: self)) }
    }

    func register(schedule def: kn_schedule_def) -> kn_status {
        guard let name = optionalString(def.name), isValidEndpointName(name),
              let spec = optionalString(def.spec), !spec.isEmpty,
              let job = optionalString(def.job), isValidEndpointName(job) else {
            return refuse("schedule: a name of [A-Za-z0-9._-]{1,128}, a spec and a job name are required")
        }
        guard def.overlap.rawValue <= KN_OVERLAP_REPLACE.rawValue, def.misfire.rawValue <= KN_MISFIRE_RUN_ALL.rawValue else {
            return refuse("schedule '\(name)': unknown overlap or misfire policy")
        }
        if let status = checkName(.schedule, name, taken: registrations.schedules.contains { $0.name == name }) {
            return status
        }
        return record { $0.schedules.append(ScheduleEntry(
            name: name, spec: spec, job: job, payload: def.payload.array, timeZone: optionalString(def.time_zone),
            queue: optionalString(def.queue), overlap: def.overlap.rawValue, misfire: def.misfire.rawValue,
            misfireLimit: def.misfire_limit, jitterMilliseconds: def.jitter_ms, ownerName: self.name, owner: self)) }
    }

    // MARK: Helpers

    private func checkName(_ kind: Registry.NameKind, _ name: String, taken: Bool) -> kn_status? {
        if taken { return refuse("'\(name)' is registered twice by this plugin", status: KN_ERR_CONFLICT) }
        if let owner = kernel.registry.conflict(kind, name, requester: self) {
            return refuse("'\(name)' is already registered by plugin '\(owner.name)'", status: KN_ERR_CONFLICT)
        }
        return nil
    }

    private func record(_ change: (inout Registrations) -> Void) -> kn_status {
        change(&registrations)
        if state == .running { kernel.registry.commit(registrations, owner: self) }
        return KN_OK
    }

    private func refuse(_ message: String, status: kn_status = KN_ERR_INVALID_ARGUMENT) -> kn_status {
        lastError = message
        kernel.pluginLog(self, level: Int32(KN_LOG_ERROR), "registration refused: \(message)")
        return status
    }
}

func isValidEndpointName(_ name: String) -> Bool {
    !name.isEmpty && name.utf8.count <= 128 && name.utf8.allSatisfy { byte in
        (byte >= 0x61 && byte <= 0x7A) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x30 && byte <= 0x39)
            || byte == 0x2E || byte == 0x5F || byte == 0x2D
    }
}
