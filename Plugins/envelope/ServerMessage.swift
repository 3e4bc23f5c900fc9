import KernelSDK
import NIOCore

/// Writes the server's messages (Protocols/ws-envelope.md) straight into a
/// buffer: bodies and items are embedded as the bytes the handler produced.
enum ServerMessage {
    /// `{"type":"result"|"end","id":…,"result":…,"meta":{…}}`
    static func result(id: String, stream: Bool, body: ByteBuffer, contentType: String,
                       meta: [(String, String)], into buffer: inout ByteBuffer) {
        buffer.writeString(stream ? #"{"type":"end","id":"# : #"{"type":"result","id":"#)
        buffer.writeString(id)
        buffer.writeString(#","result":"#)
        writeValue(body, contentType: contentType, into: &buffer)
        if !meta.isEmpty {
            buffer.writeString(#","meta":{"#)
            for (index, (name, value)) in meta.enumerated() {
                if index > 0 { buffer.writeInteger(UInt8(ascii: ",")) }
                writeString(name, into: &buffer)
                buffer.writeInteger(UInt8(ascii: ":"))
                writeString(value, into: &buffer)
            }
            buffer.writeInteger(UInt8(ascii: "}"))
        }
        buffer.writeInteger(UInt8(ascii: "}"))
    }

    /// `{"type":"item","id":…,"payload":…}`
    static func item(id: String, payload: UnsafeRawBufferPointer, into buffer: inout ByteBuffer) {
        buffer.writeString(#"{"type":"item","id":"#)
        buffer.writeString(id)
        buffer.writeString(#","payload":"#)
        if looksLikeJSON(payload) {
            buffer.writeBytes(payload)
        } else {
            writeString(String(decoding: payload, as: UTF8.self), into: &buffer)
        }
        buffer.writeInteger(UInt8(ascii: "}"))
    }

    /// `{"type":"error","id":…|null,"error":{"code","message","details"}}`
    static func error(id: String?, code: String, message: String, details: [UInt8] = [],
                      into buffer: inout ByteBuffer) {
        buffer.writeString(#"{"type":"error","id":"#)
        buffer.writeString(id ?? "null")
        buffer.writeString(#","error":{"code":"#)
        writeString(code, into: &buffer)
        buffer.writeString(#","message":"#)
        writeString(message, into: &buffer)
        buffer.writeString(#","details":"#)
        if details.first == UInt8(ascii: "{") { buffer.writeBytes(details) } else { buffer.writeString("{}") }
        buffer.writeString("}}")
    }

    /// `{"type":"pong","id":…|null}`
    static func pong(id: String?, into buffer: inout ByteBuffer) {
        buffer.writeString(#"{"type":"pong","id":"#)
        buffer.writeString(id ?? "null")
        buffer.writeInteger(UInt8(ascii: "}"))
    }

    static func code(for status: kn_status) -> String { PluginError.Code(status: status).rawValue }

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
                writeString(String(decoding: bytes, as: UTF8.self), into: &buffer)
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

    /// A JSON string literal; escapes what JSON requires and nothing else.
    static func writeString(_ text: String, into buffer: inout ByteBuffer) {
        buffer.writeInteger(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): buffer.writeString("\\\"")
            case UInt8(ascii: "\\"): buffer.writeString("\\\\")
            case 0x0A: buffer.writeString("\\n")
            case 0x0D: buffer.writeString("\\r")
            case 0x09: buffer.writeString("\\t")
            case ..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                buffer.writeString("\\u00")
                buffer.writeInteger(hex[Int(byte >> 4)])
                buffer.writeInteger(hex[Int(byte & 0xF)])
            default: buffer.writeInteger(byte)
            }
        }
        buffer.writeInteger(UInt8(ascii: "\""))
    }
}
