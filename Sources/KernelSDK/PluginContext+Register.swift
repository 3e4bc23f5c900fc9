import CKernelABI

/// Registering endpoints, routes, middleware, jobs, event handlers and
/// transports with Swift closures. Call these from `register` (or `start`);
/// the kernel keeps each closure until the plugin is unloaded.
extension PluginContext {
    /// A unary endpoint whose handler answers before returning: the fast
    /// path, completed inline on the caller's thread. It must not block.
    ///
    /// ```swift
    /// kernel.endpoint("greet") { (request: GreetRequest, _) in
    ///     guard !request.name.isEmpty else { throw PluginError.validation(field: "name", "must not be empty") }
    ///     return ["message": "hello, \(request.name)"]
    /// }
    /// ```
    public func endpoint<Request: Decodable & SendableMetatype, Response: Encodable & SendableMetatype>(
        _ name: String, description: String = "", options: EndpointOptions = EndpointOptions(),
        _ handler: @escaping @Sendable (Request, RequestContext) throws -> Response
    ) {
        registerUnary(name, description, options.texts(Request.self, Response.self), idempotent: options.idempotent) { request in
            do {
                request.respond(json: try handler(try request.decode(Request.self), request))
            } catch {
                request.fail(error)
            }
        }
    }

    /// A unary endpoint with an `async` handler, run as a task. The task is
    /// cancelled when the caller goes away.
    ///
    /// ```swift
    /// kernel.endpoint("users.get") { (request: UserID, _) async throws in
    ///     try await store.user(request.id)
    /// }
    /// ```
    public func endpoint<Request: Decodable & SendableMetatype, Response: Encodable & SendableMetatype>(
        _ name: String, description: String = "", options: EndpointOptions = EndpointOptions(),
        _ handler: @escaping @Sendable (Request, RequestContext) async throws -> Response
    ) {
        let endpoint = TaskEndpoint(host: host) { request in
            try Reply.encoding(try await handler(try request.decode(Request.self), request))
        }
        var def = kn_endpoint_def()
        def.struct_size = UInt32(MemoryLayout<kn_endpoint_def>.size)
        def.kind = UInt32(KN_ENDPOINT_UNARY)
        def.user_data = Unmanaged.passRetained(endpoint).toOpaque()
        def.release = { userData in Unmanaged<TaskEndpoint>.fromOpaque(userData!).release() }
        def.handler = { userData, call in TaskEndpoint.from(userData).begin(call!) }
        def.on_cancel = { userData, call in TaskEndpoint.from(userData).cancel(call!) }
        if options.idempotent { def.flags = UInt32(KN_ENDPOINT_IDEMPOTENT) }
        register(&def, name, description, "endpoint", schemas: options.texts(Request.self, Response.self))
    }

    private func registerUnary(_ name: String, _ description: String, _ schemas: (String?, String?), idempotent: Bool,
                               _ body: @escaping @Sendable (RequestContext) -> Void) {
        let box = CallBox(host: host, body)
        var def = kn_endpoint_def()
        def.struct_size = UInt32(MemoryLayout<kn_endpoint_def>.size)
        def.kind = UInt32(KN_ENDPOINT_UNARY)
        def.user_data = box.retained
        def.release = CallBox.release
        def.handler = CallBox.run
        if idempotent { def.flags = UInt32(KN_ENDPOINT_IDEMPOTENT) }
        register(&def, name, description, "endpoint", schemas: schemas)
    }

    /// Registers an endpoint definition with its strings in place.
    func register(_ def: inout kn_endpoint_def, _ name: String, _ description: String, _ what: String,
                  schemas: (request: String?, response: String?) = (nil, nil)) {
        let status = name.withCString { name in
            description.withCString { description in
                withOptionalCString(schemas.request) { requestSchema in
                    withOptionalCString(schemas.response) { responseSchema in
                        def.name = name
                        def.description = description
                        def.request_schema = requestSchema
                        def.response_schema = responseSchema
                        return host.pointee.register_endpoint(handle, &def)
                    }
                }
            }
        }
        check(status, "\(what) '\(name)'")
    }

    /// Binds an HTTP route to an endpoint. `:name` captures one segment
    /// (percent-decoded, read with `parameter("name")`), a final `*` the rest.
    ///
    /// ```swift
    /// kernel.route(.get, "/users/:id", to: "users.get")
    /// ```
    public func route(_ method: HTTPMethod, _ path: String, to endpoint: String) {
        var def = kn_route_def()
        def.struct_size = UInt32(MemoryLayout<kn_route_def>.size)
        let status = method.rawValue.withCString { method in
            path.withCString { path in
                endpoint.withCString { endpoint in
                    def.method = method
                    def.path = path
                    def.endpoint = endpoint
                    return host.pointee.register_route(handle, &def)
                }
            }
        }
        check(status, "route \(method) \(path)")
    }

    /// What a middleware decides for a call.
    public enum MiddlewareDecision: Sendable {
        /// Pass the call on to the next middleware or the handler.
        case next
        /// Answer the call with this error; the handler never sees it.
        case reject(PluginError)
        /// Decide later, from any thread: call `request.proceed()` or
        /// `request.reject(_:)` exactly once (after an `await`, say).
        case deferred
        /// Answer the call with this result; the handler never sees it (a cache hit).
        case answer([UInt8], contentType: String)
    }

    /// Middleware for every call of the matching endpoints, on every
    /// protocol. Lower `order` runs first. It runs on the caller's thread:
    /// keep it quick. Response metadata it sets survives the handler.
    ///
    /// ```swift
    /// kernel.middleware("auth", order: 10, endpoints: "admin.*") { request in
    ///     guard request.header("x-api-key") == key else { return .reject(.unauthorized("bad key")) }
    ///     request.setMeta("auth.subject", "admin")
    ///     return .next
    /// }
    /// ```
    public func middleware(
        _ name: String, order: Int32 = 0, endpoints: String = "*",
        _ body: @escaping @Sendable (RequestContext) -> MiddlewareDecision
    ) {
        let box = CallBox(host: host) { request in
            switch body(request) {
            case .next: request.host.pointee.call_next(request.call)
            case .reject(let error): request.fail(error)
            case .deferred: break
            case .answer(let bytes, let contentType): request.respond(bytes, contentType: contentType)
            }
        }
        var def = kn_middleware_def()
        def.struct_size = UInt32(MemoryLayout<kn_middleware_def>.size)
        def.order = order
        def.user_data = box.retained
        def.release = CallBox.release
        def.handler = CallBox.run
        let status = name.withCString { name in
            endpoints.withCString { endpoints in
                def.name = name
                def.endpoints = endpoints
                return host.pointee.register_middleware(handle, &def)
            }
        }
        check(status, "middleware '\(name)'")
    }

    /// A job: a named background handler, run by `enqueue` (retried up to
    /// `maxAttempts`) or by another plugin. Its context has `job.id` and
    /// `job.attempt` (1 on the first run) in its metadata. Throw
    /// `JobSnooze` to run again later without spending an attempt, or
    /// `JobDiscard` to give up now.
    ///
    /// ```swift
    /// kernel.job("send_welcome", maxAttempts: 5) { (welcome: Welcome, job) in
    ///     try await mailer.send(to: welcome.email)
    /// }
    /// ```
    public func job<Payload: Decodable & SendableMetatype>(
        _ name: String, maxAttempts: UInt32 = 3,
        _ handler: @escaping @Sendable (Payload, RequestContext) async throws -> Void
    ) {
        let job = TaskEndpoint(host: host) { request in
            do {
                try await handler(try request.decode(Payload.self), request)
            } catch let snooze as JobSnooze {
                request.setResponseMeta("job.snooze", String(snooze.delay.milliseconds))
            } catch let discard as JobDiscard {
                request.setResponseMeta("job.discard", "1")
                throw PluginError(.invalidArgument, discard.reason)
            }
            return .empty
        }
        var def = kn_job_def()
        def.struct_size = UInt32(MemoryLayout<kn_job_def>.size)
        def.max_attempts = maxAttempts
        def.user_data = Unmanaged.passRetained(job).toOpaque()
        def.release = { userData in Unmanaged<TaskEndpoint>.fromOpaque(userData!).release() }
        def.handler = { userData, call in TaskEndpoint.from(userData).begin(call!) }
        // A 1.1 kernel reads the definition only as far as its own size: the field is ignored there.
        def.on_cancel = { userData, call in TaskEndpoint.from(userData).cancel(call!) }
        let status = name.withCString { name in
            def.name = name
            return host.pointee.register_job(handle, &def)
        }
        check(status, "job '\(name)'")
    }

    /// An event handler for topics matching `pattern`: `*` matches one
    /// segment, a final `#` any rest (`orders.*`, `orders.#`). Runs on the
    /// kernel's event thread, in publish order: keep it quick.
    ///
    /// ```swift
    /// kernel.on("orders.#") { event in kernel.count("orders_seen") }
    /// ```
    public func on(_ pattern: String, _ handler: @escaping @Sendable (Event) -> Void) {
        let box = Retained(handler)
        var def = kn_event_handler_def()
        def.struct_size = UInt32(MemoryLayout<kn_event_handler_def>.size)
        def.user_data = Unmanaged.passRetained(box).toOpaque()
        def.release = { userData in Unmanaged<Retained<@Sendable (Event) -> Void>>.fromOpaque(userData!).release() }
        def.handler = { userData, event in
            Unmanaged<Retained<@Sendable (Event) -> Void>>.fromOpaque(userData!).takeUnretainedValue().value(Event(event!.pointee))
        }
        let status = pattern.withCString { pattern in
            def.pattern = pattern
            return host.pointee.register_event_handler(handle, &def)
        }
        check(status, "event handler '\(pattern)'")
    }

    /// Declares a transport, shown by `kernelctl status`. Transports serve
    /// with the transport kit (`KernelTransport`).
    public func transport(_ name: String, description: String = "") {
        var def = kn_transport_def()
        def.struct_size = UInt32(MemoryLayout<kn_transport_def>.size)
        let status = name.withCString { name in
            description.withCString { description in
                def.name = name
                def.description = description
                return host.pointee.register_transport(handle, &def)
            }
        }
        check(status, "transport '\(name)'")
    }
}

/// A synchronous handler or middleware kept by the kernel as user_data.
final class CallBox: @unchecked Sendable {
    let host: UnsafePointer<kn_host_api>
    let body: @Sendable (RequestContext) -> Void

    init(host: UnsafePointer<kn_host_api>, _ body: @escaping @Sendable (RequestContext) -> Void) {
        self.host = host
        self.body = body
    }

    var retained: UnsafeMutableRawPointer { Unmanaged.passRetained(self).toOpaque() }

    static let run: @convention(c) (UnsafeMutableRawPointer?, OpaquePointer?) -> Void = { userData, call in
        let box = Unmanaged<CallBox>.fromOpaque(userData!).takeUnretainedValue()
        box.body(RequestContext(host: box.host, call: call!))
    }

    static let release: kn_release_fn = { userData in Unmanaged<CallBox>.fromOpaque(userData!).release() }
}

/// A value kept alive by the kernel as user_data.
final class Retained<Value: Sendable>: Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
