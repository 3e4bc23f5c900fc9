import KernelTransport
import NIOCore

/// Writes the server's messages (Protocols/ws-envelope.md) straight into a
/// buffer: bodies and items are embedded as the bytes the handler produced.
package enum ServerMessage {
    /// `{"type":"result"|"end","id":…,"result":…,"meta":{…}}`
    package static func result(id: String, stream: Bool, body: ByteBuffer, contentType: String,
                       meta: [(name: String, value: String)], into buffer: inout ByteBuffer) {
        buffer.writeString(stream ? #"{"type":"end","id":"# : #"{"type":"result","id":"#)
        buffer.writeString(id)
        buffer.writeString(#","result":"#)
        writeValue(body, contentType: contentType, into: &buffer)
        if !meta.isEmpty {
            buffer.writeString(#","meta":{"#)
            for (index, (name, value)) in meta.enumerated() {
                if index > 0 { buffer.writeInteger(UInt8(ascii: ",")) }
                buffer.writeJSONString(name)
                buffer.writeInteger(UInt8(ascii: ":"))
                buffer.writeJSONString(value)
            }
            buffer.writeInteger(UInt8(ascii: "}"))
        }
        buffer.writeInteger(UInt8(ascii: "}"))
    }

    /// `{"type":"item","id":…,"payload":…}`
    package static func item(id: String, payload: ByteBuffer, into buffer: inout ByteBuffer) {
        buffer.writeString(#"{"type":"item","id":"#)
        buffer.writeString(id)
        buffer.writeString(#","payload":"#)
        payload.withUnsafeReadableBytes { payload in
            if looksLikeJSON(payload) {
                buffer.writeBytes(payload)
            } else {
                buffer.writeJSONString(String(decoding: payload, as: UTF8.self))
            }
        }
        buffer.writeInteger(UInt8(ascii: "}"))
    }

    /// `{"type":"error","id":…|null,"error":{"code","message","details"}}`
    package static func error(id: String?, code: String, message: String, details: [UInt8] = [],
                      into buffer: inout ByteBuffer) {
        buffer.writeString(#"{"type":"error","id":"#)
        buffer.writeString(id ?? "null")
        buffer.writeString(#","error":{"code":"#)
        buffer.writeJSONString(code)
        buffer.writeString(#","message":"#)
        buffer.writeJSONString(message)
        buffer.writeString(#","details":"#)
        if details.first == UInt8(ascii: "{") { buffer.writeBytes(details) } else { buffer.writeString("{}") }
        buffer.writeString("}}")
    }

    /// `{"type":"pong","id":…|null}`
    package static func pong(id: String?, into buffer: inout ByteBuffer) {
        buffer.writeString(#"{"type":"pong","id":"#)
        buffer.writeString(id ?? "null")
        buffer.writeInteger(UInt8(ascii: "}"))
    }

    // MARK: Values

    /// A JSON body as is; an empty one as `null`; any other content type as a string.
    private static func writeValue(_ body: ByteBuffer, contentType: String, into buffer: inout ByteBuffer) {
        let isJSON = contentType.isEmpty || contentType.contains("json")
        body.withUnsafeReadableBytes { bytes in
            if bytes.isEmpty {
                buffer.writeString("null")
            } else if isJSON && looksLikeJSON(bytes) {
                buffer.writeBytes(bytes)
            } else {
                buffer.writeJSONString(String(decoding: bytes, as: UTF8.self))
            }
        }
    }

    /// A cheap guard, not a validation: a value that cannot start JSON is sent as a string instead.
    private static func looksLikeJSON(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard let first = bytes.first(where: { $0 != 0x20 && $0 != 0x0A && $0 != 0x0D && $0 != 0x09 }) else { return false }
        switch first {
        case UInt8(ascii: "{"), UInt8(ascii: "["), UInt8(ascii: "\""), UInt8(ascii: "-"),
             UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "t"), UInt8(ascii: "f"), UInt8(ascii: "n"):
            return true
        default:
            return false
        }
    }
}
