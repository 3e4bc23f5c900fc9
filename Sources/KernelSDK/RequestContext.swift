import CKernelABI
import Foundation

/// The call a handler or middleware is working on: request body, metadata,
/// and the one completion.
///
/// ```swift
/// kernel.endpoint("whoami") { (_: Empty, request) in
///     ["protocol": request.protocolName, "user": request.meta("auth.subject") ?? "anonymous",
///      "agent": request.header("user-agent") ?? ""]
/// }
/// ```
///
/// Valid until the call is completed; the SDK completes it when the handler
/// returns or throws. Not to be used concurrently from several threads.
public struct RequestContext: @unchecked Sendable {
    let host: UnsafePointer<kn_host_api>
    let call: OpaquePointer

    /// The endpoint called.
    public var endpoint: String { host.pointee.call_endpoint(call).map { String(cString: $0) } ?? "" }

    /// "http", "ws", "tcp", "internal", "admin" or "job".
    public var protocolName: String { meta("protocol") ?? "internal" }

    /// Whether the call came over HTTP (compared in place).
    public var isHTTP: Bool { meta("protocol", is: "http") }

    public var requestID: String { meta("request.id") ?? "" }

    /// The raw request body.
    public var body: [UInt8] {
        let bytes = host.pointee.call_body(call)
        guard let ptr = bytes.ptr, bytes.len > 0 else { return [] }
        return Array(UnsafeBufferPointer(start: ptr, count: bytes.len))
    }

    /// The size of the request body, without copying it.
    public var bodyCount: Int { host.pointee.call_body(call).len }

    /// Refuses the call (`forbidden`) unless it came through the admin
    /// socket: for operator endpoints, which `kernelctl` calls and clients
    /// must not reach over http, ws or tcp.
    ///
    /// ```swift
    /// kernel.endpoint("shop.purge") { (_: Empty, request) async throws -> Empty in
    ///     try request.requireOperator()
    ///     return Empty()
    /// }
    /// ```
    public func requireOperator() throws(PluginError) {
        guard protocolName == "admin" else {
            throw PluginError(.forbidden, "\(endpoint) is an operator endpoint, served on the admin socket only (kernelctl)")
        }
    }

    /// Request metadata as text (see `kn_plugin.h` for the keys).
    public func meta(_ key: String) -> String? {
        var value = kn_bytes()
        guard host.pointee.call_meta_get(call, key, &value) else { return nil }
        guard let ptr = value.ptr, value.len > 0 else { return "" }
        return String(decoding: UnsafeBufferPointer(start: ptr, count: value.len), as: UTF8.self)
    }

    /// Whether the call has metadata `key`, without copying it.
    public func hasMeta(_ key: String) -> Bool {
        var value = kn_bytes()
        return host.pointee.call_meta_get(call, key, &value)
    }

    /// Whether metadata `key` is exactly `text`, compared in place (the
    /// hot path of a middleware: no String made).
    public func meta(_ key: String, is text: StaticString) -> Bool {
        var value = kn_bytes()
        guard host.pointee.call_meta_get(call, key, &value) else { return false }
        return value.len == text.utf8CodeUnitCount && (value.len == 0 || memcmp(value.ptr, text.utf8Start, value.len) == 0)
    }

    /// Runs `body` on metadata `key`'s bytes in place (nil when absent).
    public func withMeta<T>(_ key: String, _ body: (UnsafeRawBufferPointer?) -> T) -> T {
        var value = kn_bytes()
        guard host.pointee.call_meta_get(call, key, &value) else { return body(nil) }
        return body(UnsafeRawBufferPointer(start: value.ptr, count: value.len))
    }

    /// A request header (HTTP; `meta` on WS/TCP), by lower-case name.
    public func header(_ name: String) -> String? { meta("header.\(name.lowercased())") }

    /// A route parameter: `parameter("id")` for `/users/:id`.
    public func parameter(_ name: String) -> String? { meta("param.\(name)") }

    /// Adds request metadata for the middleware and handler after this one.
    public func setMeta(_ key: String, _ value: String) {
        var value = value
        value.withUTF8 { _ = host.pointee.call_meta_set(call, key, kn_bytes(ptr: $0.baseAddress, len: $0.count)) }
    }

    /// Sets response metadata; `header.<name>` becomes an HTTP response header.
    public func setResponseMeta(_ key: String, _ value: String) {
        var value = value
        value.withUTF8 { _ = host.pointee.call_response_meta_set(call, key, kn_bytes(ptr: $0.baseAddress, len: $0.count)) }
    }

    public func setResponseHeader(_ name: String, _ value: String) { setResponseMeta("header.\(name.lowercased())", value) }

    /// Decodes the JSON body; an empty body decodes as `{}`.
    public func decode<T: Decodable>(_ type: T.Type) throws(PluginError) -> T {
        if T.self == Empty.self { return Empty() as! T }
        var bytes = body
        if bytes.isEmpty { bytes = Array("{}".utf8) }
        return try JSON.decode(T.self, from: bytes, what: "request body")
    }

    // MARK: Middleware

    /// A middleware that answered `.deferred`: passes the call on now.
    public func proceed() { host.pointee.call_next(call) }

    /// A middleware that answered `.deferred`: refuses the call now.
    public func reject(_ error: PluginError) { fail(error) }

    // MARK: Completion

    func respond(_ bytes: [UInt8], contentType: String = "application/json") {
        bytes.withUnsafeBufferPointer { buffer in
            _ = host.pointee.call_respond(call, kn_bytes(ptr: buffer.baseAddress, len: buffer.count), contentType)
        }
    }

    func respond(_ data: Data, contentType: String = "application/json") {
        data.withUnsafeBytes { buffer in
            _ = host.pointee.call_respond(
                call, kn_bytes(ptr: buffer.baseAddress?.assumingMemoryBound(to: UInt8.self), len: buffer.count), contentType)
        }
    }

    func respond<T: Encodable>(json value: T) {
        if let raw = value as? RawResponse {
            respond(raw.bytes, contentType: raw.contentType)
            return
        }
        do {
            respond(try JSON.encoder.encode(value))
        } catch {
            fail(PluginError(.internal, "cannot encode response: \(error)"))
        }
    }

    func fail(_ error: any Error) {
        let error = PluginError(error)
        let details = error.detailsJSON
        details.withUnsafeBufferPointer { buffer in
            _ = host.pointee.call_fail(call, error.code.status, error.message,
                                       kn_bytes(ptr: buffer.baseAddress, len: buffer.count))
        }
    }
}

