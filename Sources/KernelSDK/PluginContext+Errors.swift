import CKernelABI
import Foundation

/// A failed call as an error handler sees it: the failure, and the request
/// it answers (method, path, endpoint, request id in its metadata).
public struct FailedCall: @unchecked Sendable {
    public let code: PluginError.Code
    /// The message as failed, or as an earlier handler rewrote it.
    public let message: String
    /// The details object (`fields` of a validation error, ...), or empty.
    public let details: [String: Any]
    /// The request. Valid only while the handler runs.
    public let request: RequestContext

    /// Replaces the message and/or the details the caller will read.
    public func rewrite(message: String? = nil, details: [String: Any]? = nil) {
        var text = message ?? ""
        let json = details.flatMap { try? JSONSerialization.data(withJSONObject: $0, options: [.sortedKeys]) } ?? Data()
        text.withUTF8 { text in
            json.withUnsafeBytes { json in
                _ = request.host.pointee.call_error_rewrite(
                    request.call, kn_bytes(ptr: text.baseAddress, len: text.count),
                    kn_bytes(ptr: json.baseAddress?.assumingMemoryBound(to: UInt8.self), len: json.count))
            }
        }
    }
}

extension PluginContext {
    /// A handler of every failed call, whoever failed it (a handler, a
    /// middleware, the kernel), before the caller hears of it. It runs on
    /// the failing thread: keep it quick. Handlers run in ascending `order`.
    /// Needs an ABI 1.4 kernel (older ones: logged, not registered).
    ///
    /// ```swift
    /// kernel.onError("request-ids") { failure in
    ///     var details = failure.details
    ///     details["request_id"] = failure.request.requestID
    ///     failure.rewrite(details: details)
    /// }
    /// ```
    public func onError(_ name: String, order: Int32 = 0, _ handler: @escaping @Sendable (FailedCall) -> Void) {
        guard hostHas(\.register_error_handler) else {
            log(.warning, "error handler '\(name)' needs an ABI 1.4 kernel; not registered")
            return
        }
        let box = Retained(handler)
        var def = kn_error_handler_def()
        def.struct_size = UInt32(MemoryLayout<kn_error_handler_def>.size)
        def.order = order
        def.user_data = Unmanaged.passRetained(box).toOpaque()
        def.release = { userData in Unmanaged<Retained<@Sendable (FailedCall) -> Void>>.fromOpaque(userData!).release() }
        def.handler = { userData, call, error in
            let handler = Unmanaged<Retained<@Sendable (FailedCall) -> Void>>.fromOpaque(userData!).takeUnretainedValue().value
            guard let host = PluginRuntime.current?.host, let call, let error else { return }
            let info = error.pointee
            let details = info.details.len == 0 ? [:]
                : (try? JSONSerialization.jsonObject(with: Data(info.details.copiedBytes))) as? [String: Any] ?? [:]
            handler(FailedCall(code: PluginError.Code(status: info.status), message: info.message.string, details: details,
                               request: RequestContext(host: host, call: call)))
        }
        let status = name.withCString { name in
            def.name = name
            return host.pointee.register_error_handler(handle, &def)
        }
        check(status, "error handler '\(name)'")
    }
}
