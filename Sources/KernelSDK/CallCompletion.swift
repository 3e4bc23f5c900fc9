import CKernelABI

/// How a call ended, as a middleware's `onComplete` sees it.
public struct CallCompletion: Sendable {
    /// nil when the call succeeded.
    public let error: PluginError.Code?
    /// The error's message (empty on success).
    public let message: String
    /// Bytes of the result (0 on failure; the final result of a stream).
    public let bodyCount: Int
    /// Response metadata (`header.<name>` are response headers).
    public let responseMeta: [(key: String, value: String)]

    public var isSuccess: Bool { error == nil }

    /// The HTTP status the http transport answers with.
    public var httpStatus: Int { error?.httpStatus ?? 200 }

    init(_ response: kn_response, host: UnsafePointer<kn_host_api>) {
        error = response.status == KN_OK ? nil : PluginError.Code(status: response.status)
        message = response.status == KN_OK ? "" : response.error_message.string
        bodyCount = response.status == KN_OK ? response.body.len : 0
        var meta: [(String, String)] = []
        withUnsafePointer(to: response) { pointer in
            for index in 0..<response.meta_count {
                var key = kn_bytes(), value = kn_bytes()
                if host.pointee.response_meta_at(pointer, index, &key, &value) { meta.append((key.string, value.string)) }
            }
        }
        responseMeta = meta
    }
}

extension RequestContext {
    /// Runs `body` when the call completes, on the thread that completes
    /// it, before the caller hears of it: a middleware's view of the
    /// outcome (status, sizes, timing). Register it before `.next`. It may
    /// still set response metadata (`setResponseHeader`), which the caller sees.
    ///
    /// ```swift
    /// kernel.middleware("timing", order: -100) { request in
    ///     let start = ContinuousClock.now
    ///     request.onComplete { outcome in
    ///         request.setResponseHeader("server-timing", "total;dur=\((ContinuousClock.now - start).milliseconds)")
    ///     }
    ///     return .next
    /// }
    /// ```
    public func onComplete(_ body: @escaping @Sendable (CallCompletion) -> Void) {
        let box = Unmanaged.passRetained(OutcomeObserver(host: host, body)).toOpaque()
        let status = host.pointee.call_on_complete(call, { userData, response in
            let observer = Unmanaged<OutcomeObserver>.fromOpaque(userData!).takeRetainedValue()
            observer.body(CallCompletion(response!.pointee, host: observer.host))
        }, box)
        if status != KN_OK { Unmanaged<OutcomeObserver>.fromOpaque(box).release() }
    }
}

private final class OutcomeObserver: @unchecked Sendable {
    let host: UnsafePointer<kn_host_api>
    let body: @Sendable (CallCompletion) -> Void
    init(host: UnsafePointer<kn_host_api>, _ body: @escaping @Sendable (CallCompletion) -> Void) {
        self.host = host
        self.body = body
    }
}
