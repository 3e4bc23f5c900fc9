import CKernelABI
import Foundation

/// Work a plugin hands to the kernel: events, jobs, and calls of other
/// endpoints. Any thread.
extension PluginContext {
    /// Calls an endpoint through its middleware and decodes the answer.
    /// Cancelling the calling task cancels the call (its handler hears
    /// `on_cancel`) and throws `cancelled`.
    ///
    /// ```swift
    /// let user: User = try await kernel.invoke("users.get", ["id": "42"])
    /// ```
    public func invoke<Request: Encodable, Response: Decodable>(
        _ endpoint: String, _ request: Request, as type: Response.Type = Response.self
    ) async throws(PluginError) -> Response {
        let body = try JSON.encode(request, what: "request")
        guard let call = host.pointee.call_new(handle, "internal") else { throw PluginError(.internal, "call_new failed") }
        defer { host.pointee.call_release(call) }
        _ = host.pointee.call_set_endpoint(call, endpoint)
        if let requestID = RequestScope.requestID {
            var requestID = requestID
            requestID.withUTF8 { _ = host.pointee.call_meta_set(call, "request.id", kn_bytes(ptr: $0.baseAddress, len: $0.count)) }
        }
        body.withUnsafeBufferPointer {
            _ = host.pointee.call_set_body(call, kn_bytes(ptr: $0.baseAddress, len: $0.count), "application/json")
        }
        let handle = CallHandle(call)
        let outcome = try await OneShot<InvokeOutcome>.wait(
            onCancel: { [self] in host.pointee.call_cancel(handle.pointer) }
        ) { waiter in
            var callbacks = kn_call_callbacks()
            callbacks.struct_size = UInt32(MemoryLayout<kn_call_callbacks>.size)
            callbacks.user_data = waiter.retained
            callbacks.on_complete = { userData, response in
                OneShot<InvokeOutcome>.take(userData).resume(.success(InvokeOutcome(response!.pointee)))
            }
            host.pointee.call_dispatch(handle.pointer, &callbacks)
        }
        if let error = outcome.error { throw error }
        if Response.self == Empty.self { return Empty() as! Response }
        do {
            return try JSON.decoder.decode(Response.self, from: Data(outcome.body))
        } catch {
            throw PluginError(.internal, "invalid response from '\(endpoint)': \(JSONErrorText.describe(error))")
        }
    }
}

/// A `kn_call *` carried into a cancellation handler: the starter's
/// reference keeps it valid until `invoke` returns.
struct CallHandle: @unchecked Sendable {
    let pointer: OpaquePointer
    init(_ pointer: OpaquePointer) { self.pointer = pointer }
}

/// What `invoke` keeps of the borrowed `kn_response`.
struct InvokeOutcome: Sendable {
    var body: [UInt8]
    var error: PluginError?

    init(_ response: kn_response) {
        if response.status == KN_OK {
            body = response.body.copiedBytes
            error = nil
        } else {
            body = []
            error = PluginError(.init(status: response.status), String(decoding: response.error_message.copiedBytes, as: UTF8.self),
                                detailsJSON: response.error_details.copiedBytes)
        }
    }
}

extension Duration {
    /// Whole milliseconds, at least zero: what the C ABI takes.
    var milliseconds: UInt64 {
        let (seconds, attoseconds) = components
        guard seconds >= 0 else { return 0 }
        return UInt64(seconds) * 1_000 + UInt64(max(0, attoseconds) / 1_000_000_000_000_000)
    }
}

extension kn_bytes {
    /// A copy of a borrowed slice.
    package var copiedBytes: [UInt8] {
        guard let ptr, len > 0 else { return [] }
        return Array(UnsafeBufferPointer(start: ptr, count: len))
    }

    /// A borrowed slice as UTF-8 text.
    package var string: String {
        guard let ptr, len > 0 else { return "" }
        return String(decoding: UnsafeBufferPointer(start: ptr, count: len), as: UTF8.self)
    }
}
