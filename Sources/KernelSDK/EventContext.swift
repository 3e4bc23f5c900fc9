import CKernelABI
import Glibc

/// Whom an event concerns and where it came from (kn_event_context).
/// Subscribers see an event only if its context allows them: one with a
/// tenant reaches that tenant's subscribers only, one with a user that user
/// only (Protocols/pubsub.md).
///
/// ```swift
/// try await kernel.publish("invoices.paid", invoice, context: EventContext(tenant: "acme"))
/// ```
public struct EventContext: Sendable, Equatable {
    public var user: String?
    public var tenant: String?
    public var session: String?
    public var requestID: String?
    /// Free-form string headers carried with the event.
    public var headers: [String: String]

    public init(user: String? = nil, tenant: String? = nil, session: String? = nil, requestID: String? = nil,
                headers: [String: String] = [:]) {
        self.user = user
        self.tenant = tenant
        self.session = session
        self.requestID = requestID
        self.headers = headers
    }

    init(_ context: kn_event_context) {
        func text(_ pointer: UnsafePointer<CChar>?) -> String? { pointer.map { String(cString: $0) } }
        user = text(context.user)
        tenant = text(context.tenant)
        session = text(context.session)
        requestID = text(context.request_id)
        let bytes = context.headers.copiedBytes
        headers = bytes.isEmpty ? [:] : (try? JSON.decode([String: String].self, from: bytes, what: "event headers")) ?? [:]
    }

    /// Lends it as a kn_event_context for the duration of `body`.
    func withContext<T>(_ body: (UnsafePointer<kn_event_context>) throws(PluginError) -> T) throws(PluginError) -> T {
        let headerBytes = headers.isEmpty ? [] : try JSON.encode(headers, what: "event headers")
        let strings = [user, tenant, session, requestID ?? RequestScope.requestID].map { $0.map { strdup($0)! } }
        defer { for string in strings { free(string) } }
        return try headerBytes.withUnsafeBufferPointer { (headerBuffer) throws(PluginError) -> T in
            var context = kn_event_context()
            context.user = UnsafePointer(strings[0])
            context.tenant = UnsafePointer(strings[1])
            context.session = UnsafePointer(strings[2])
            context.request_id = UnsafePointer(strings[3])
            context.headers = kn_bytes(ptr: headerBuffer.baseAddress, len: headerBuffer.count)
            return try withUnsafePointer(to: &context) { (pointer) throws(PluginError) -> T in try body(pointer) }
        }
    }
}
