import Foundation

/// Registering endpoints, routes, middleware, jobs and event handlers with
/// Swift closures. Each closure is retained by the kernel until the plugin is
/// unloaded, then released.
extension PluginContext {
    /// A unary endpoint whose handler completes before returning (the fast path).
    public func endpoint<Request: Decodable & SendableMetatype, Response: Encodable & SendableMetatype>(
        _ name: String, description: String = "",
        _ handler: @escaping @Sendable (Request, RequestContext) throws -> Response
    ) {
        register(name, description) { context in
            do {
                context.respond(json: try handler(try context.decode(Request.self), context))
            } catch {
                context.fail(error)
            }
        }
    }

    /// A unary endpoint with an async handler, run as a task.
    public func endpoint<Request: Decodable & SendableMetatype, Response: Encodable & SendableMetatype>(
        _ name: String, description: String = "",
        _ handler: @escaping @Sendable (Request, RequestContext) async throws -> Response
    ) {
        register(name, description) { context in
            Task {
                do {
                    context.respond(json: try await handler(try context.decode(Request.self), context))
                } catch {
                    context.fail(error)
                }
            }
        }
    }

    private func register(_ name: String, _ description: String, _ body: @escaping @Sendable (RequestContext) -> Void) {
        let box = Box(body)
        var def = kn_endpoint_def()
        def.struct_size = UInt32(MemoryLayout<kn_endpoint_def>.size)
        def.kind = UInt32(KN_ENDPOINT_UNARY)
        def.user_data = box.retainedPointer
        def.release = Box.releaseFunction
        def.handler = { userData, call in
            let box = Box.from(userData)
            box.body(RequestContext(host: box.host!, call: call!))
        }
        box.host = host
        let status = name.withCString { name in
            description.withCString { description in
                def.name = name
                def.description = description
                return host.pointee.register_endpoint(handle, &def)
            }
        }
        check(status, "endpoint '\(name)'")
    }

    /// Binds an HTTP route (`GET /users/:id`) to an endpoint.
    public func route(_ method: String, _ path: String, to endpoint: String) {
        var def = kn_route_def()
        def.struct_size = UInt32(MemoryLayout<kn_route_def>.size)
        let status = method.withCString { method in
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
        case next
        case reject(PluginError)
    }

    /// Middleware for every call of the matching endpoints, on every protocol.
    /// Lower `order` runs first. It runs on the caller's thread: keep it quick.
    public func middleware(
        _ name: String, order: Int32 = 0, endpoints: String = "*",
        _ body: @escaping @Sendable (RequestContext) -> MiddlewareDecision
    ) {
        let box = Box { context in
            switch body(context) {
            case .next: context.host.pointee.call_next(context.call)
            case .reject(let error): context.fail(error)
            }
        }
        box.host = host
        var def = kn_middleware_def()
        def.struct_size = UInt32(MemoryLayout<kn_middleware_def>.size)
        def.order = order
        def.user_data = box.retainedPointer
        def.release = Box.releaseFunction
        def.fn = { userData, call in
            let box = Box.from(userData)
            box.body(RequestContext(host: box.host!, call: call!))
        }
        let status = name.withCString { name in
            endpoints.withCString { endpoints in
                def.name = name
                def.endpoints = endpoints
                return host.pointee.register_middleware(handle, &def)
            }
        }
        check(status, "middleware '\(name)'")
    }

    /// A job: a named background handler, run by `enqueueJob` or `job_run`.
    public func job<Payload: Decodable & SendableMetatype>(
        _ name: String, maxAttempts: UInt32 = 3,
        _ handler: @escaping @Sendable (Payload, RequestContext) async throws -> Void
    ) {
        let box = Box { context in
            Task {
                do {
                    try await handler(try context.decode(Payload.self), context)
                    context.respond(Array("{}".utf8))
                } catch {
                    context.fail(error)
                }
            }
        }
        box.host = host
        var def = kn_job_def()
        def.struct_size = UInt32(MemoryLayout<kn_job_def>.size)
        def.max_attempts = maxAttempts
        def.user_data = box.retainedPointer
        def.release = Box.releaseFunction
        def.handler = { userData, call in
            let box = Box.from(userData)
            box.body(RequestContext(host: box.host!, call: call!))
        }
        let status = name.withCString { name in
            def.name = name
            return host.pointee.register_job(handle, &def)
        }
        check(status, "job '\(name)'")
    }

    /// An event handler for topics matching `pattern` (`orders.*`, `orders.#`).
    /// Runs on the kernel's event thread.
    public func on(_ pattern: String, _ handler: @escaping @Sendable (Event) -> Void) {
        let box = EventBox(handler)
        var def = kn_event_handler_def()
        def.struct_size = UInt32(MemoryLayout<kn_event_handler_def>.size)
        def.user_data = Unmanaged.passRetained(box).toOpaque()
        def.release = { userData in Unmanaged<EventBox>.fromOpaque(userData!).release() }
        def.fn = { userData, event in
            let box = Unmanaged<EventBox>.fromOpaque(userData!).takeUnretainedValue()
            box.handler(Event(event!.pointee))
        }
        let status = pattern.withCString { pattern in
            def.pattern = pattern
            return host.pointee.register_event_handler(handle, &def)
        }
        check(status, "event handler '\(pattern)'")
    }

    /// Declares a transport (shown in listings).
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

    /// A listening socket owned by the kernel (kept across reloads). The
    /// descriptor is the plugin's to close in `stop`.
    public func listen(host address: String, port: UInt16) throws -> (fd: Int32, port: UInt16) {
        var fd: Int32 = -1
        var bound: UInt16 = 0
        let status = host.pointee.listen(handle, address, port, &fd, &bound)
        guard status == KN_OK else {
            throw PluginError(.init(status: status), "cannot listen on \(address):\(port)")
        }
        return (fd, bound)
    }
}

/// A closure retained by the kernel as a registration's user_data.
final class Box: @unchecked Sendable {
    let body: @Sendable (RequestContext) -> Void
    var host: UnsafePointer<kn_host_api>?

    init(_ body: @escaping @Sendable (RequestContext) -> Void) { self.body = body }

    var retainedPointer: UnsafeMutableRawPointer { Unmanaged.passRetained(self).toOpaque() }

    static func from(_ pointer: UnsafeMutableRawPointer?) -> Box {
        Unmanaged<Box>.fromOpaque(pointer!).takeUnretainedValue()
    }

    static let releaseFunction: kn_release_fn = { pointer in
        Unmanaged<Box>.fromOpaque(pointer!).release()
    }
}

final class EventBox: @unchecked Sendable {
    let handler: @Sendable (Event) -> Void
    init(_ handler: @escaping @Sendable (Event) -> Void) { self.handler = handler }
}

/// An event as a handler receives it (copied).
public struct Event: Sendable {
    public let id: UInt64
    public let topic: String
    public let payload: [UInt8]
    public let publisher: String
    public let publishedAtMilliseconds: Int64

    init(_ event: kn_event) {
        id = event.id
        topic = event.topic.map { String(cString: $0) } ?? ""
        payload = event.payload.ptr.map { Array(UnsafeBufferPointer(start: $0, count: event.payload.len)) } ?? []
        publisher = event.publisher.map { String(cString: $0) } ?? ""
        publishedAtMilliseconds = event.published_at_ms
    }

    public func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try JSON.decoder.decode(T.self, from: Data(payload))
    }
}
