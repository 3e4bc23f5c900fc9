import EnvelopeJSON
import NIOCore

/// A message from the client, as in Protocols/ws-envelope.md: one JSON
/// object whose `type` says what it is (`call` when absent).
///
/// An `id` is kept as its raw JSON text (`"a1"` with its quotes, or `42`):
/// answers echo it byte for byte, and it keys the calls in flight.
package enum ClientMessage {
    /// `call` (unary) or `stream` (a streaming call): starts a call.
    case call(CallStart)
    /// A client item for a bidirectional stream.
    case item(id: String, payload: ByteBuffer)
    /// The client has no more items for that stream (half-close).
    case end(id: String)
    /// Cancels a call or stream in flight.
    case cancel(id: String)
    /// Keepalive; answered with `pong`.
    case ping(id: String?)
    /// Ends the subscription `id`; its last message is then `unsubscribed`.
    case unsubscribe(id: String)

    package struct CallStart {
        package var id: String
        package var endpoint: String
        package var payload: ByteBuffer
        /// `meta` entries; the transport passes them on as `header.<name>`.
        package var meta: [(name: String, value: String)]
        package var isStream: Bool
        /// Started by `subscribe`: items go out as the handler's own objects with the id spliced in.
        package var isSubscription = false
    }

    /// Why a message was refused; `id` is set when the message had a usable one.
    package struct Refusal: Error {
        package var id: String?
        package var code: String
        package var message: String
    }

    /// Parses one message.
    package static func parse(_ buffer: ByteBuffer) -> Result<ClientMessage, Refusal> {
        buffer.withUnsafeReadableBytes { bytes in
            let members: [JSONScanner.Member]
            do {
                members = try JSONScanner.members(ofObject: bytes)
            } catch {
                return .failure(Refusal(id: nil, code: "invalid_argument", message: "not a JSON object: \(error)"))
            }
            var fields: [String: Range<Int>] = [:]
            for member in members { fields[member.key] = member.value }
            func text(_ range: Range<Int>) -> String { String(decoding: UnsafeRawBufferPointer(rebasing: bytes[range]), as: UTF8.self) }
            func slice(_ range: Range<Int>) -> ByteBuffer {
                buffer.getSlice(at: buffer.readerIndex + range.lowerBound, length: range.count) ?? ByteBuffer()
            }

            var id: String?
            if let range = fields["id"] {
                guard JSONScanner.isIdentifier(bytes, in: range) else {
                    return .failure(Refusal(id: nil, code: "invalid_argument", message: "id must be a string or an integer"))
                }
                id = text(range)
            }
            let type = fields["type"].map { JSONScanner.string(bytes, in: $0) } ?? "call"
            func refuse(_ message: String) -> Result<ClientMessage, Refusal> {
                .failure(Refusal(id: id, code: "invalid_argument", message: message))
            }
            if type == "ping" { return .success(.ping(id: id)) }
            guard let id else { return refuse("missing id") }

            switch type {
            case "call", "stream":
                guard let range = fields["endpoint"], let endpoint = JSONScanner.string(bytes, in: range), !endpoint.isEmpty
                else { return refuse("missing endpoint (a non-empty string)") }
                let meta: [(name: String, value: String)]
                switch Self.meta(bytes, in: fields["meta"]) {
                case .success(let entries): meta = entries
                case .failure(let error): return refuse(error.message)
                }
                let payload = fields["payload"].map(slice) ?? ByteBuffer()
                return .success(.call(CallStart(id: id, endpoint: endpoint, payload: payload, meta: meta,
                                                isStream: type == "stream")))
            case "item":
                guard let range = fields["payload"] else { return refuse("an item needs a payload") }
                return .success(.item(id: id, payload: slice(range)))
            case "end":
                return .success(.end(id: id))
            case "cancel":
                return .success(.cancel(id: id))
            case "subscribe":
                return subscription(id: id, bytes, fields: fields).map { .call($0) }
                    .mapError { Refusal(id: id, code: "invalid_argument", message: $0.message) }
            case "unsubscribe":
                return .success(.unsubscribe(id: id))
            case nil:
                return refuse("type must be a string")
            case let other?:
                return refuse("unknown type '\(other)'")
            }
        }
    }

    /// `meta`: absent or `null` is none; otherwise an object of strings, names in lower case.
    static func meta(_ bytes: UnsafeRawBufferPointer, in range: Range<Int>?) -> Result<[(name: String, value: String)], ShapeError> {
        guard let range, !bytes[range].elementsEqual("null".utf8) else { return .success([]) }
        guard let entries = try? JSONScanner.members(ofObject: bytes, in: range) else {
            return .failure(ShapeError(message: "meta must be an object of strings"))
        }
        var meta: [(name: String, value: String)] = []
        let base = range.lowerBound
        for entry in entries {
            let valueRange = (entry.value.lowerBound + base)..<(entry.value.upperBound + base)
            guard let value = JSONScanner.string(bytes, in: valueRange) else {
                return .failure(ShapeError(message: "meta '\(entry.key)' must be a string"))
            }
            meta.append((entry.key.lowercased(), value))
        }
        return .success(meta)
    }

    /// A field of the wrong shape; the caller adds the id and the code.
    struct ShapeError: Error {
        var message: String
    }
}
