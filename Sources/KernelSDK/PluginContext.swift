import Foundation

/// What a plugin does through the kernel: register, log, read its
/// configuration, publish events, run jobs, call endpoints.
///
/// Registration methods run on the control thread (inside `register` or
/// `start`); the others from any thread.
public final class PluginContext: @unchecked Sendable {
    /// The raw host table and plugin handle, for transports and other code
    /// that needs the C ABI directly.
    public let host: UnsafePointer<kn_host_api>
    public let handle: OpaquePointer
    /// The first registration the kernel refused, which fails init.
    var firstFailure: kn_status?

    init(host: UnsafePointer<kn_host_api>, handle: OpaquePointer) {
        self.host = host
        self.handle = handle
    }

    // MARK: Kernel services

    public enum LogLevel: Int32 { case trace = 0, debug, info, warning, error }

    public func log(_ level: LogLevel = .info, _ message: String) {
        host.pointee.log(handle, level.rawValue, message)
    }

    /// The plugin's configuration value for `key`, or nil.
    public func config(_ key: String) -> String? {
        host.pointee.config_get(handle, key).map { String(cString: $0) }
    }

    public func config(_ key: String, default value: Int) -> Int { config(key).flatMap(Int.init) ?? value }

    /// The plugin's own data directory.
    public var dataDirectory: String { host.pointee.data_dir(handle).map { String(cString: $0) } ?? "." }

    public func count(_ metric: String, by delta: Int64 = 1) { host.pointee.metric_add(handle, metric, delta) }
    public func gauge(_ metric: String, _ value: Int64) { host.pointee.metric_set(handle, metric, value) }

    func setError(_ message: String) { host.pointee.set_error(handle, message) }

    /// Publishes an event with a JSON payload.
    public func publish<T: Encodable>(_ topic: String, _ payload: T) throws {
        let bytes = Array(try JSON.encoder.encode(payload))
        let status = bytes.withUnsafeBufferPointer {
            host.pointee.publish(handle, topic, kn_bytes(ptr: $0.baseAddress, len: $0.count))
        }
        guard status == KN_OK else { throw PluginError(.init(status: status), "cannot publish to '\(topic)'") }
    }

    /// Queues a job; returns its id.
    @discardableResult
    public func enqueueJob<T: Encodable>(_ name: String, _ payload: T, delayMilliseconds: UInt64 = 0) throws -> UInt64 {
        let bytes = Array(try JSON.encoder.encode(payload))
        var id: UInt64 = 0
        let status = bytes.withUnsafeBufferPointer {
            host.pointee.job_enqueue(handle, name, kn_bytes(ptr: $0.baseAddress, len: $0.count), delayMilliseconds, &id)
        }
        guard status == KN_OK else { throw PluginError(.init(status: status), "cannot enqueue job '\(name)'") }
        return id
    }

    /// Calls an endpoint (through its middleware) and decodes the answer.
    public func invoke<Request: Encodable, Response: Decodable>(
        _ endpoint: String, _ request: Request, as type: Response.Type = Response.self
    ) async throws -> Response {
        let body = Array(try JSON.encoder.encode(request))
        let outcome = await withCheckedContinuation { (continuation: CheckedContinuation<Outcome, Never>) in
            guard let call = host.pointee.call_new(handle, "internal") else {
                continuation.resume(returning: Outcome(status: KN_ERR_INTERNAL, body: [], message: "call_new failed"))
                return
            }
            _ = host.pointee.call_set_endpoint(call, endpoint)
            body.withUnsafeBufferPointer {
                _ = host.pointee.call_set_body(call, kn_bytes(ptr: $0.baseAddress, len: $0.count), "application/json")
            }
            var callbacks = kn_call_callbacks()
            callbacks.struct_size = UInt32(MemoryLayout<kn_call_callbacks>.size)
            callbacks.user_data = Unmanaged.passRetained(ContinuationBox(continuation)).toOpaque()
            callbacks.on_complete = { userData, response in
                let box = Unmanaged<ContinuationBox>.fromOpaque(userData!).takeRetainedValue()
                box.continuation.resume(returning: Outcome(response!.pointee))
            }
            host.pointee.call_dispatch(call, &callbacks)
            host.pointee.call_release(call)
        }
        guard outcome.status == KN_OK else { throw PluginError(.init(status: outcome.status), outcome.message) }
        if Response.self == Empty.self { return Empty() as! Response }
        do {
            return try JSON.decoder.decode(Response.self, from: Data(outcome.body))
        } catch {
            throw PluginError(.internal, "invalid response from '\(endpoint)': \(JSONErrorText.describe(error))")
        }
    }

    struct Outcome: Sendable {
        var status: kn_status
        var body: [UInt8]
        var message: String

        init(status: kn_status, body: [UInt8], message: String) {
            self.status = status
            self.body = body
            self.message = message
        }

        init(_ response: kn_response) {
            status = response.status
            body = response.body.ptr.map { Array(UnsafeBufferPointer(start: $0, count: response.body.len)) } ?? []
            message = response.error_message.ptr.map {
                String(decoding: UnsafeBufferPointer(start: $0, count: response.error_message.len), as: UTF8.self)
            } ?? ""
        }
    }

    final class ContinuationBox: @unchecked Sendable {
        let continuation: CheckedContinuation<Outcome, Never>
        init(_ continuation: CheckedContinuation<Outcome, Never>) { self.continuation = continuation }
    }

    // MARK: Registration helpers

    func check(_ status: kn_status, _ what: String) {
        if status != KN_OK {
            if firstFailure == nil { firstFailure = status }
            log(.error, "cannot register \(what): \(PluginError.Code(status: status).rawValue)")
        }
    }
}
