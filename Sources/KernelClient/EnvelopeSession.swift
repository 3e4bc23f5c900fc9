import EnvelopeJSON
import Foundation
import NIOCore
import Synchronization

/// The client side of the envelope (Protocols/ws-envelope.md), whatever
/// carries it: numbers the calls, keeps the ones in flight by id, and routes
/// each server message to its call or stream.
///
/// Thread-safe: calls start from any task; messages arrive on the channel's
/// event loop.
final class EnvelopeSession: Sendable {
    private enum Pending {
        case call(CheckedContinuation<KernelResponse, any Error>)
        case stream(KernelStream)
    }

    private struct State {
        var nextID = 1
        var pending: [String: Pending] = [:]
        var closed: KernelClientError?
    }

    private let state = Mutex(State())

    // MARK: Starting

    func call(_ endpoint: String, payload: [UInt8], meta: [String: String], on channel: Channel) async throws -> KernelResponse {
        try await withCheckedThrowingContinuation { continuation in
            switch register(.call(continuation)) {
            case .failure(let error):
                continuation.resume(throwing: error)
            case .success(let id):
                write(Self.envelope("call", id: id, endpoint: endpoint, payload: payload, meta: meta), for: id, on: channel)
            }
        }
    }

    func stream(_ endpoint: String, payload: [UInt8], meta: [String: String], on channel: Channel) async throws -> KernelStream {
        let ids = Mutex<String?>(nil)
        let stream = KernelStream { control in
            guard let id = ids.withLock({ $0 }) else { return }
            let message: ByteBuffer = switch control {
            case .item(let bytes): Self.envelope("item", id: id, payload: bytes.isEmpty ? Array("null".utf8) : bytes)
            case .end: Self.envelope("end", id: id)
            case .cancel: Self.envelope("cancel", id: id)
            }
            do {
                try await channel.writeAndFlush(message)
            } catch {
                throw KernelClientError.closed("\(error)")
            }
        }
        let id = try register(.stream(stream)).get()
        ids.withLock { $0 = id }
        write(Self.envelope("stream", id: id, endpoint: endpoint, payload: payload, meta: meta), for: id, on: channel)
        return stream
    }

    private func register(_ pending: Pending) -> Result<String, KernelClientError> {
        state.withLock { state in
            if let closed = state.closed { return .failure(closed) }
            let id = String(state.nextID)
            state.nextID += 1
            state.pending[id] = pending
            return .success(id)
        }
    }

    private func write(_ message: ByteBuffer, for id: String, on channel: Channel) {
        channel.writeAndFlush(message).whenFailure { error in
            self.complete(id, .failure(KernelClientError.closed("cannot send: \(error)")))
        }
    }

    /// `{"type":…,"id":…,"endpoint":…,"payload":…,"meta":{…}}`, payload as given.
    static func envelope(_ type: String, id: String, endpoint: String? = nil, payload: [UInt8] = [],
                         meta: [String: String] = [:]) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.reserveCapacity(64 + payload.count)
        buffer.writeString(#"{"type":""#)
        buffer.writeString(type)
        buffer.writeString(#"","id":"#)
        buffer.writeString(id)
        if let endpoint {
            buffer.writeString(#","endpoint":"#)
            // Endpoint names are plain ASCII ([A-Za-z0-9._-]); anything else takes the slow, escaping path.
            if endpoint.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") }) {
                buffer.writeInteger(UInt8(ascii: "\""))
                buffer.writeString(endpoint)
                buffer.writeInteger(UInt8(ascii: "\""))
            } else {
                buffer.writeBytes((try? JSONSerialization.data(withJSONObject: endpoint, options: .fragmentsAllowed)) ?? Data("\"\"".utf8))
            }
        }
        if !payload.isEmpty {
            buffer.writeString(#","payload":"#)
            buffer.writeBytes(payload)
        }
        if !meta.isEmpty, let encoded = try? JSONSerialization.data(withJSONObject: meta) {
            buffer.writeString(#","meta":"#)
            buffer.writeBytes(encoded)
        }
        buffer.writeString("}")
        return buffer
    }

    // MARK: Receiving (event loop)

    /// One server message.
    func receive(_ message: ByteBuffer) {
        message.withUnsafeReadableBytes { bytes in
            guard let members = try? JSONScanner.members(ofObject: bytes) else { return }
            var fields: [String: Range<Int>] = [:]
            for member in members { fields[member.key] = member.value }
            func raw(_ key: String) -> [UInt8]? { fields[key].map { Array(bytes[$0]) } }
            guard let type = fields["type"].flatMap({ JSONScanner.string(bytes, in: $0) }),
                  let id = raw("id").map({ String(decoding: $0, as: UTF8.self) })
            else { return }
            switch type {
            case "item":
                if case .stream(let stream)? = state.withLock({ $0.pending[id] }) {
                    stream.yield(JSONBody(raw("payload") ?? Array("null".utf8)))
                }
            case "result", "end":
                let meta = raw("meta").flatMap { try? JSONSerialization.jsonObject(with: Data($0)) as? [String: String] } ?? [:]
                complete(id, .success(KernelResponse(body: JSONBody(raw("result") ?? Array("null".utf8)), meta: meta)))
            case "error":
                complete(id, .failure(Self.callError(raw("error") ?? [])))
            default:
                break // pong, and types of a later version
            }
        }
    }

    static func callError(_ bytes: [UInt8]) -> KernelClientError {
        let object = (try? JSONSerialization.jsonObject(with: Data(bytes))) as? [String: Any] ?? [:]
        let details = (object["details"]).flatMap { try? JSONSerialization.data(withJSONObject: $0) }.map { Array($0) } ?? Array("{}".utf8)
        return .call(code: object["code"] as? String ?? "internal", message: object["message"] as? String ?? "",
                     details: JSONBody(details))
    }

    private func complete(_ id: String, _ outcome: Result<KernelResponse, any Error>) {
        guard let pending = state.withLock({ $0.pending.removeValue(forKey: id) }) else { return }
        switch pending {
        case .call(let continuation): continuation.resume(with: outcome)
        case .stream(let stream): stream.finish(outcome)
        }
    }

    /// The connection is gone: everything in flight fails.
    func closed(_ reason: String) {
        let pending = state.withLock { state -> [Pending] in
            if state.closed == nil { state.closed = .closed(reason) }
            defer { state.pending = [:] }
            return Array(state.pending.values)
        }
        for entry in pending {
            switch entry {
            case .call(let continuation): continuation.resume(throwing: KernelClientError.closed(reason))
            case .stream(let stream): stream.finish(.failure(KernelClientError.closed(reason)))
            }
        }
    }
}

/// Hands the messages of a framed connection to the session; tells it when the connection goes.
final class EnvelopeClientHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    private let session: EnvelopeSession

    init(session: EnvelopeSession) { self.session = session }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) { session.receive(unwrapInboundIn(data)) }

    func channelInactive(context: ChannelHandlerContext) {
        session.closed("the server closed the connection")
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        session.closed("\(error)")
        context.close(promise: nil)
    }
}
