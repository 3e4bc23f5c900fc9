import CKernelABI

/// A completed call's response, copied out of the borrowed `kn_response`.
public struct CallOutcome: Sendable {
    public var status: kn_status
    public var body: [UInt8]
    public var contentType: String
    public var message: String
    public var details: [UInt8]
    public var responseMeta: [(String, [UInt8])]

    public var isSuccess: Bool { status == KN_OK }

    init(_ response: UnsafePointer<kn_response>) {
        let r = response.pointee
        status = r.status
        body = r.body.array
        contentType = r.content_type.map { String(cString: $0) } ?? ""
        message = r.error_message.string
        details = r.error_details.array
        var meta: [(String, [UInt8])] = []
        if let handle = r.meta_handle {
            let call = Unmanaged<Call>.fromOpaque(handle).takeUnretainedValue()
            for index in 0..<r.meta_count {
                if let entry = call.responseMeta(at: index) { meta.append((entry.key.string, entry.value.array)) }
            }
        }
        responseMeta = meta
    }

    init(status: kn_status, message: String) {
        self.status = status
        body = []
        contentType = ""
        self.message = message
        details = []
        responseMeta = []
    }
}

/// Bridges `kn_call_callbacks` to a Swift closure, for calls the kernel
/// itself starts (admin `call`, jobs).
final class CompletionBox: @unchecked Sendable {
    let completion: @Sendable (CallOutcome) -> Void

    init(_ completion: @escaping @Sendable (CallOutcome) -> Void) { self.completion = completion }

    /// Callbacks that run `completion` once and free the box.
    static func callbacks(_ completion: @escaping @Sendable (CallOutcome) -> Void) -> kn_call_callbacks {
        var callbacks = kn_call_callbacks()
        callbacks.struct_size = UInt32(MemoryLayout<kn_call_callbacks>.size)
        callbacks.user_data = Unmanaged.passRetained(CompletionBox(completion)).toOpaque()
        callbacks.on_complete = { userData, response in
            guard let userData, let response else { return }
            let box = Unmanaged<CompletionBox>.fromOpaque(userData).takeRetainedValue()
            box.completion(CallOutcome(response))
        }
        callbacks.on_item = nil
        return callbacks
    }
}
