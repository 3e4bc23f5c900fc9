import CKernelABI
import Foundation

/// What error handlers see of a failed call, and what they rewrite.
final class FailureRevision {
    var message: OwnedBuffer
    var details: OwnedBuffer
    var rewritten = false
    /// A handler chose the message: the internal-error rule leaves it alone.
    var messageRewritten = false
    /// Buffers a rewrite replaced: a handler may still read its
    /// `kn_error_info`, which points into them, until the failure is delivered.
    var retired: [OwnedBuffer] = []

    init(message: OwnedBuffer, details: OwnedBuffer) {
        self.message = message
        self.details = details
    }
}

/// A failed call on its way to its starter: error handlers, then the rule
/// that internal messages stay inside the kernel.
extension Call {
    /// The failure as the starter will see it, or nil when it goes out as failed.
    func reviseFailure(status: kn_status, message: kn_bytes, details: kn_bytes) -> FailureRevision? {
        var revision: FailureRevision?
        let handlers = kernel.registry.beginErrorHandlers()
        if !handlers.isEmpty {
            let current = FailureRevision(message: OwnedBuffer(message), details: OwnedBuffer(details))
            failureRevision = current
            for handler in handlers {
                var info = kn_error_info()
                info.struct_size = UInt32(MemoryLayout<kn_error_info>.size)
                info.status = status
                info.message = current.message.bytes
                info.details = current.details.bytes
                handler.function(handler.userData, handle, &info)
                handler.owner.endCall()
            }
            failureRevision = nil
            if current.rewritten { revision = current }
        }
        if status == KN_ERR_INTERNAL, revision?.messageRewritten != true, !kernel.exposesInternalErrors, servesOutside {
            let id = meta("request.id")?.string ?? ""
            kernel.logger.error("""
                \(running.map { "[\($0.endpoint.owner.name)] endpoint \($0.endpoint.name)" } ?? "a call") failed \
                (request \(id)): \(OwnedBuffer(message).string)
                """)
            // The details may say as much as the message: only the request id goes out.
            let json = (try? JSONSerialization.data(withJSONObject: ["request_id": id])).map { Array($0) } ?? []
            let hidden = revision ?? FailureRevision(message: OwnedBuffer(message), details: OwnedBuffer(details))
            hidden.retired += [hidden.message, hidden.details]
            hidden.message = OwnedBuffer("internal error")
            hidden.details = OwnedBuffer(json)
            revision = hidden
        }
        return revision
    }

    /// `call_error_rewrite`: only while the error handlers run.
    func rewriteFailure(message: kn_bytes, details: kn_bytes) -> kn_status {
        guard let revision = failureRevision else { return KN_ERR_INVALID_ARGUMENT }
        if message.len > 0 {
            revision.retired.append(revision.message)
            revision.message = OwnedBuffer(message)
            revision.messageRewritten = true
        }
        if details.len > 0 {
            revision.retired.append(revision.details)
            revision.details = OwnedBuffer(details)
        }
        revision.rewritten = true
        return KN_OK
    }

    /// A client outside the process started it (http, ws, tcp, or a
    /// third-party transport), not a plugin, the admin socket or a job.
    private var servesOutside: Bool {
        let name = protocolName.string
        return name != "internal" && name != "admin" && name != "job"
    }

    /// Read-only metadata about the endpoint, once the call is dispatched.
    func endpointMeta(_ key: String) -> OwnedBuffer? {
        guard key.hasPrefix("endpoint."), let endpoint = running?.endpoint else { return nil }
        switch key {
        case "endpoint.plugin": return endpoint.owner.nameBuffer
        case "endpoint.request_schema": return endpoint.requestSchema
        case "endpoint.response_schema": return endpoint.responseSchema
        case "endpoint.idempotent": return endpoint.idempotent ? Self.one : nil
        case "endpoint.kind": return Self.kinds[endpoint.kindName]
        default: return nil
        }
    }

    private static let one = OwnedBuffer("1")
    private static let kinds = Dictionary(uniqueKeysWithValues: ["unary", "server_stream", "bidi_stream"].map { ($0, OwnedBuffer($0)) })
}
