import CKernelABI

/// An endpoint as the kernel keeps it: copied out of the plugin's
/// `kn_endpoint_def`, owned by the plugin instance that made it.
///
/// Entries are immutable and shared by reference: a call in flight keeps the
/// entry it resolved even after the registry has moved on (reload).
final class EndpointEntry: @unchecked Sendable {
    let name: String
    /// The name as a C string, for `call_endpoint`.
    let nameBuffer: OwnedBuffer
    let kind: UInt32
    let handler: kn_handler_fn
    let onItem: kn_item_fn?
    let onCancel: kn_cancel_fn?
    /// ABI 1.1: the consumer has room again after a refused send.
    let onReady: kn_ready_fn?
    let userData: UnsafeMutableRawPointer?
    let release: kn_release_fn?
    let summary: String
    let owner: PluginInstance
    /// ABI 1.4: JSON Schemas of the request and the result (text), and
    /// "1" when the endpoint is idempotent: read as call metadata "endpoint.*".
    let requestSchema: OwnedBuffer?
    let responseSchema: OwnedBuffer?
    let idempotent: Bool

    init(name: String, kind: UInt32, handler: kn_handler_fn, onItem: kn_item_fn?, onCancel: kn_cancel_fn?, onReady: kn_ready_fn? = nil,
         userData: UnsafeMutableRawPointer?, release: kn_release_fn?, summary: String, owner: PluginInstance,
         requestSchema: String? = nil, responseSchema: String? = nil, idempotent: Bool = false) {
        self.name = name
        self.nameBuffer = OwnedBuffer(name)
        self.kind = kind
        self.handler = handler
        self.onItem = onItem
        self.onCancel = onCancel
        self.onReady = onReady
        self.userData = userData
        self.release = release
        self.summary = summary
        self.owner = owner
        self.requestSchema = requestSchema.map(OwnedBuffer.init)
        self.responseSchema = responseSchema.map(OwnedBuffer.init)
        self.idempotent = idempotent
    }

    var kindName: String {
        switch kind {
        case UInt32(KN_ENDPOINT_SERVER_STREAM): "server_stream"
        case UInt32(KN_ENDPOINT_BIDI_STREAM): "bidi_stream"
        default: "unary"
        }
    }
}
