import KernelSDK
import NIOCore
import NIOHTTP1

/// Typed errors to HTTP: the status code and the JSON error body
/// `{"error":{"code","message","details"}}`.
enum HTTPStatusMapping {
    static func status(for status: kn_status) -> HTTPResponseStatus {
        switch status {
        case KN_OK: .ok
        case KN_ERR_INVALID_ARGUMENT: .badRequest
        case KN_ERR_NOT_FOUND: .notFound
        case KN_ERR_VALIDATION: .unprocessableEntity
        case KN_ERR_CONFLICT: .conflict
        case KN_ERR_UNAUTHORIZED: .unauthorized
        case KN_ERR_FORBIDDEN: .forbidden
        case KN_ERR_RATE_LIMITED: .tooManyRequests
        case KN_ERR_TOO_LARGE: .payloadTooLarge
        case KN_ERR_TIMEOUT: .gatewayTimeout
        case KN_ERR_UNAVAILABLE: .serviceUnavailable
        case KN_ERR_CANCELLED: .custom(code: 499, reasonPhrase: "Client Closed Request")
        case KN_ERR_METHOD_NOT_ALLOWED: .methodNotAllowed
        default: .internalServerError
        }
    }

    static func code(for status: kn_status) -> String { PluginError.Code(status: status).rawValue }

    static func errorBody(status: kn_status, message: String, details: [UInt8]) -> ByteBuffer {
        errorBody(code: code(for: status), message: message, details: details)
    }

    static func errorBody(code: String, message: String, details: [UInt8]) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeString(#"{"error":{"code":""#)
        buffer.writeString(code)
        buffer.writeString(#"","message":"#)
        writeJSONString(message, to: &buffer)
        buffer.writeString(#","details":"#)
        if details.first == UInt8(ascii: "{") { buffer.writeBytes(details) } else { buffer.writeString("{}") }
        buffer.writeString("}}")
        return buffer
    }

    static func writeJSONString(_ string: String, to buffer: inout ByteBuffer) {
        buffer.writeInteger(UInt8(ascii: "\""))
        for scalar in string.unicodeScalars {
            switch scalar {
            case "\"": buffer.writeString("\\\"")
            case "\\": buffer.writeString("\\\\")
            case "\n": buffer.writeString("\\n")
            case "\r": buffer.writeString("\\r")
            case "\t": buffer.writeString("\\t")
            case _ where scalar.value < 0x20: buffer.writeString(String(format: "\\u%04x", scalar.value))
            default: buffer.writeString(String(scalar))
            }
        }
        buffer.writeInteger(UInt8(ascii: "\""))
    }
}

import Foundation
