import CKernelABI

/// How a call ended, as a middleware's `onComplete` sees it. Valid only
/// while that closure runs: it reads the kernel's response in place, and
/// copies only what is asked for.
public struct CallCompletion: @unchecked Sendable {
    private let response: UnsafePointer<kn_response>
    private let host: UnsafePointer<kn_host_api>

    init(_ response: UnsafePointer<kn_response>, host: UnsafePointer<kn_host_api>) {
        self.response = response
        self.host = host
    }

    /// nil when the call succeeded.
    public var error: PluginError.Code? {
        response.pointee.status == KN_OK ? nil : PluginError.Code(status: response.pointee.status)
    }

    public var isSuccess: Bool { response.pointee.status == KN_OK }

    /// The HTTP status the http transport answers with.
    public var httpStatus: Int { error?.httpStatus ?? 200 }

    /// The error's message (empty on success).
    public var message: String { isSuccess ? "" : response.pointee.error_message.string }

    /// Bytes of the result (0 on failure; the final result of a stream).
    public var bodyCount: Int { isSuccess ? response.pointee.body.len : 0 }

    /// A copy of the result.
    public var body: [UInt8] { isSuccess ? response.pointee.body.copiedBytes : [] }

    public var contentType: String { response.pointee.content_type.map { String(cString: $0) } ?? "" }

    /// Response metadata (`header.<name>` are response headers), copied.
    public var responseMeta: [(key: String, value: String)] {
        var meta: [(String, String)] = []
        for index in 0..<response.pointee.meta_count {
            var key = kn_bytes(), value = kn_bytes()
            if host.pointee.response_meta_at(response, index, &key, &value) { meta.append((key.string, value.string)) }
        }
        return meta
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
            observer.body(CallCompletion(response!, host: observer.host))
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
