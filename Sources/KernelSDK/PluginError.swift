import CKernelABI
import Foundation

/// A typed error: handlers throw it, and every transport maps it to its
/// protocol (HTTP status in brackets, the `code` string on ws and tcp).
///
/// ```swift
/// guard let user = try await store.user(id) else { throw PluginError.notFound("no user \(id)") }
/// guard request.age >= 0 else { throw PluginError.validation(field: "age", "must not be negative") }
/// ```
///
/// Any other error a handler throws is sent as `internal` with its text.
public struct PluginError: Error, CustomStringConvertible, Sendable {
    /// The kind of failure: `kn_status` of the C ABI, named as `kn_status_name` names it.
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

        /// The `kn_status` of this code.
        package var status: kn_status { Self.statuses[self] ?? KN_ERR_INTERNAL }

        /// The code of a `kn_status` (`internal` for OK or an unknown value).
        package init(status: kn_status) {
            self = Self(rawValue: String(cString: kn_status_name(status))) ?? .internal
        }

        /// The HTTP status a transport answers with.
        public var httpStatus: Int { Int(kn_status_http(status)) }

        /// Statuses by code, from the header's one list of names.
        private static let statuses: [Code: kn_status] = {
            var table: [Code: kn_status] = [:]
            for status in kn_status(1)...kn_status(32) {
                if let code = Code(rawValue: String(cString: kn_status_name(status))), table[code] == nil { table[code] = status }
            }
            return table
        }()
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
    /// One line, for people.
    public var message: String
    /// The invalid fields of a `validation` error.
    public var fields: [FieldError]
    /// Extra details, sent as a JSON object next to `fields`.
    public var details: [String: String]

    public init(_ code: Code, _ message: String, fields: [FieldError] = [], details: [String: String] = [:]) {
        self.code = code
        self.message = message
        self.fields = fields
        self.details = details
    }

    /// Any error as a `PluginError`: itself, `cancelled` for a
    /// `CancellationError`, otherwise `internal` with its text.
    public init(_ error: any Error) {
        switch error {
        case let error as PluginError: self = error
        case is CancellationError: self.init(.cancelled, "cancelled")
        default: self.init(.internal, "\(error)")
        }
    }

    /// An error received from another endpoint, with its JSON details.
    init(_ code: Code, _ message: String, detailsJSON: [UInt8]) {
        self.init(code, message)
        guard !detailsJSON.isEmpty,
              let object = (try? JSONSerialization.jsonObject(with: Data(detailsJSON))) as? [String: Any] else { return }
        if let fields = object["fields"] as? [[String: Any]] {
            self.fields = fields.map { FieldError(field: $0["field"] as? String ?? "", message: $0["message"] as? String ?? "") }
        }
        for (key, value) in object where key != "fields" { details[key] = "\(value)" }
    }

    public var description: String { "\(code.rawValue): \(message)" }

    public static func notFound(_ message: String) -> Self { Self(.notFound, message) }
    public static func conflict(_ message: String) -> Self { Self(.conflict, message) }
    public static func unauthorized(_ message: String) -> Self { Self(.unauthorized, message) }
    public static func forbidden(_ message: String) -> Self { Self(.forbidden, message) }
    public static func rateLimited(_ message: String) -> Self { Self(.rateLimited, message) }
    public static func invalidArgument(_ message: String) -> Self { Self(.invalidArgument, message) }
    public static func unavailable(_ message: String) -> Self { Self(.unavailable, message) }
    public static func `internal`(_ message: String) -> Self { Self(.internal, message) }
    public static func validation(_ fields: [FieldError], message: String = "validation failed") -> Self {
        Self(.validation, message, fields: fields)
    }
    public static func validation(field: String, _ message: String) -> Self {
        validation([FieldError(field: field, message: message)], message: "\(field): \(message)")
    }

    /// The JSON object sent as the error's details.
    package var detailsJSON: [UInt8] {
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
