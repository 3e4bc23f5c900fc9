import CKernelABI
import KernelSDK
import NIOCore

/// How a call ended, copied once out of the kernel's borrowed response.
///
/// ```swift
/// override func completed(_ outcome: CallOutcome) {
///     if let failure = outcome.failure {
///         send(status: failure.code.httpStatus, body: failure.jsonBody())
///     } else {
///         send(status: 200, contentType: outcome.contentType, body: outcome.body, headers: outcome.headers)
///     }
/// }
/// ```
public struct CallOutcome: Sendable {
    /// Why the call failed; nil when it succeeded.
    public struct Failure: Sendable {
        public var code: PluginError.Code
        /// One line, UTF-8.
        public var message: String
        /// A JSON object (`{"fields":[...]}` for validation errors), or empty.
        public var details: [UInt8]

        public init(code: PluginError.Code, message: String, details: [UInt8] = []) {
            self.code = code
            self.message = message
            self.details = details
        }

        /// `{"error":{"code","message","details"}}`: the error body every transport sends.
        public func jsonBody() -> ByteBuffer {
            var buffer = ByteBuffer()
            buffer.writeString(#"{"error":"#)
            writeJSON(into: &buffer)
            buffer.writeString("}")
            return buffer
        }

        /// `{"code","message","details"}` (the inner object of `jsonBody`).
        public func writeJSON(into buffer: inout ByteBuffer) {
            buffer.writeString(#"{"code":""#)
            buffer.writeString(code.rawValue)
            buffer.writeString(#"","message":"#)
            buffer.writeJSONString(message)
            buffer.writeString(#","details":"#)
            if details.first == UInt8(ascii: "{") { buffer.writeBytes(details) } else { buffer.writeString("{}") }
            buffer.writeString("}")
        }
    }

    public var failure: Failure?
    /// The result (success only).
    public var body: ByteBuffer
    /// The result's content type; "" when the handler gave none.
    public var contentType: String
    /// Response metadata `header.<name>`, without the prefix, in order.
    public var headers: [(name: String, value: String)]

    public var succeeded: Bool { failure == nil }

    init(_ response: UnsafePointer<kn_response>, host: UnsafePointer<kn_host_api>) {
        let r = response.pointee
        if r.status == KN_OK {
            failure = nil
            body = ByteBuffer(bytes: UnsafeRawBufferPointer(start: r.body.ptr, count: r.body.ptr == nil ? 0 : r.body.len))
            contentType = r.content_type.map { String(cString: $0) } ?? ""
        } else {
            failure = Failure(code: PluginError.Code(status: r.status), message: Self.text(r.error_message),
                              details: r.error_details.ptr.map { Array(UnsafeBufferPointer(start: $0, count: r.error_details.len)) } ?? [])
            body = ByteBuffer()
            contentType = ""
        }
        var headers: [(name: String, value: String)] = []
        for index in 0..<r.meta_count {
            var key = kn_bytes()
            var value = kn_bytes()
            guard host.pointee.response_meta_at(response, index, &key, &value) else { continue }
            let name = Self.text(key)
            if name.hasPrefix("header.") { headers.append((String(name.dropFirst(7)), Self.text(value))) }
        }
        self.headers = headers
    }

    private static func text(_ bytes: kn_bytes) -> String {
        guard let ptr = bytes.ptr else { return "" }
        return String(decoding: UnsafeBufferPointer(start: ptr, count: bytes.len), as: UTF8.self)
    }
}

extension ByteBuffer {
    /// A JSON string literal; escapes what JSON requires and nothing else.
    public mutating func writeJSONString(_ text: String) {
        writeInteger(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): writeStaticString("\\\"")
            case UInt8(ascii: "\\"): writeStaticString("\\\\")
            case 0x0A: writeStaticString("\\n")
            case 0x0D: writeStaticString("\\r")
            case 0x09: writeStaticString("\\t")
            case ..<0x20:
                let hex: StaticString = "0123456789abcdef"
                writeStaticString("\\u00")
                writeInteger(hex.utf8Start[Int(byte >> 4)])
                writeInteger(hex.utf8Start[Int(byte & 0xF)])
            default: writeInteger(byte)
            }
        }
        writeInteger(UInt8(ascii: "\""))
    }
}
