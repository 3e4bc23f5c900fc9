import Foundation

/// A typed error a handler throws; every transport maps it to its protocol
/// (HTTP: the status in brackets).
public struct PluginError: Error, CustomStringConvertible, Sendable {
    public enum Code: String, Sendable, Codable, CaseIterable {
        case invalidArgument = "invalid_argument" // 400
        case notFound = "not_found" // 404
        case validation // 422
        case conflict // 409
        case unauthorized // 401
        case forbidden // 403
        case rateLimited = "rate_limited" // 429
        case tooLarge = "too_large" // 413
        case timeout // 504
        case unavailable // 503
        case cancelled // 499
        case `internal` // 500
        case methodNotAllowed = "method_not_allowed" // 405

        public var status: kn_status {
            switch self {
            case .invalidArgument: KN_ERR_INVALID_ARGUMENT
            case .notFound: KN_ERR_NOT_FOUND
            case .validation: KN_ERR_VALIDATION
            case .conflict: KN_ERR_CONFLICT
            case .unauthorized: KN_ERR_UNAUTHORIZED
            case .forbidden: KN_ERR_FORBIDDEN
            case .rateLimited: KN_ERR_RATE_LIMITED
            case .tooLarge: KN_ERR_TOO_LARGE
            case .timeout: KN_ERR_TIMEOUT
            case .unavailable: KN_ERR_UNAVAILABLE
            case .cancelled: KN_ERR_CANCELLED
            case .internal: KN_ERR_INTERNAL
            case .methodNotAllowed: KN_ERR_METHOD_NOT_ALLOWED
            }
        }

        public init(status: kn_status) {
            self = Self.allCases.first { $0.status == status } ?? .internal
        }
    }

    /// One invalid field of a validation error.
    public struct FieldError: Codable, Sendable, Equatable {
        public var field: String
        public var message: String
        public init(field: String, message: String) {
            self.field = field
            self.message = message
        }
    }

    public var code: Code
    public var message: String
    public var fields: [FieldError]
    /// Extra details, sent as a JSON object next to `fields`.
    public var details: [String: String]

    public init(_ code: Code, _ message: String, fields: [FieldError] = [], details: [String: String] = [:]) {
        self.code = code
        self.message = message
        self.fields = fields
        self.details = details
    }

    public var description: String { "\(code.rawValue): \(message)" }

    public static func notFound(_ message: String) -> Self { Self(.notFound, message) }
    public static func conflict(_ message: String) -> Self { Self(.conflict, message) }
    public static func unauthorized(_ message: String) -> Self { Self(.unauthorized, message) }
    public static func forbidden(_ message: String) -> Self { Self(.forbidden, message) }
    public static func rateLimited(_ message: String) -> Self { Self(.rateLimited, message) }
    public static func invalidArgument(_ message: String) -> Self { Self(.invalidArgument, message) }
    public static func `internal`(_ message: String) -> Self { Self(.internal, message) }
    public static func validation(_ fields: [FieldError], message: String = "validation failed") -> Self {
        Self(.validation, message, fields: fields)
    }
    public static func validation(field: String, _ message: String) -> Self {
        validation([FieldError(field: field, message: message)], message: "\(field): \(message)")
    }

    /// The JSON object sent as the error's details.
    var detailsJSON: [UInt8] {
        guard !fields.isEmpty || !details.isEmpty else { return [] }
        struct Body: Encodable {
            let fields: [FieldError]?
            let extra: [String: String]
            func encode(to encoder: Encoder) throws {
                var container = encoder.container(keyedBy: AnyKey.self)
                for (key, value) in extra { try container.encode(value, forKey: AnyKey(key)) }
                if let fields { try container.encode(fields, forKey: AnyKey("fields")) }
            }
        }
        return (try? Array(JSON.encoder.encode(Body(fields: fields.isEmpty ? nil : fields, extra: details)))) ?? []
    }
}

struct AnyKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(_ string: String) { stringValue = string }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}
