import Foundation
import KernelSDK

/// A user as the API returns it.
struct User: Codable, Sendable, Equatable {
    var id: String
    var username: String
    var email: String
    var status: String
    var createdAt: String
    var updatedAt: String

    /// The API's field names (snake_case, as the users service documents them).
    enum CodingKeys: String, CodingKey {
        case id, username, email, status
        case createdAt = "created_at"
        case updatedAt = "updated_at"
    }
}

struct Deleted: Codable, Sendable {
    var id: String
    var deleted: Bool
}

struct SearchResult: Codable, Sendable {
    var users: [User]
    var totalCount: Int
    var page: Int
    var limit: Int
    var hasMore: Bool

    enum CodingKeys: String, CodingKey {
        case users, page, limit
        case totalCount = "total_count"
        case hasMore = "has_more"
    }
}

enum UserRules {
    static let statuses = ["active", "inactive", "suspended"]

    static func username(_ value: String, into errors: inout [PluginError.FieldError]) {
        let allowed = value.unicodeScalars.allSatisfy { CharacterSet.alphanumerics.contains($0) || "_.-".unicodeScalars.contains($0) }
        if value.count < 3 || value.count > 32 {
            errors.append(.init(field: "username", message: "must be 3 to 32 characters"))
        } else if !allowed {
            errors.append(.init(field: "username", message: "may hold letters, digits, '_', '.' and '-' only"))
        }
    }

    static func email(_ value: String, into errors: inout [PluginError.FieldError]) {
        let parts = value.split(separator: "@", omittingEmptySubsequences: false)
        let valid = parts.count == 2 && !parts[0].isEmpty && parts[1].contains(".") && !parts[1].hasPrefix(".")
            && !parts[1].hasSuffix(".") && !value.contains(where: \.isWhitespace) && value.utf8.count <= 254
        if !valid { errors.append(.init(field: "email", message: "must be a valid email address")) }
    }

    static func status(_ value: String, into errors: inout [PluginError.FieldError]) {
        if !statuses.contains(value) {
            errors.append(.init(field: "status", message: "must be one of \(statuses.joined(separator: ", "))"))
        }
    }

    static func check(_ errors: [PluginError.FieldError]) throws {
        if !errors.isEmpty { throw PluginError.validation(errors, message: "invalid user: " + errors.map(\.field).joined(separator: ", ")) }
    }
}

struct CreateUser: Codable, Sendable {
    var username: String?
    var email: String?
    var status: String?

    struct Valid: Sendable {
        var username: String
        var email: String
        var status: String
    }

    func validated() throws -> Valid {
        var errors: [PluginError.FieldError] = []
        let username = (self.username ?? "").trimmingCharacters(in: .whitespaces)
        let email = (self.email ?? "").trimmingCharacters(in: .whitespaces).lowercased()
        if self.username == nil { errors.append(.init(field: "username", message: "is required")) }
        else { UserRules.username(username, into: &errors) }
        if self.email == nil { errors.append(.init(field: "email", message: "is required")) }
        else { UserRules.email(email, into: &errors) }
        let status = self.status ?? "active"
        UserRules.status(status, into: &errors)
        try UserRules.check(errors)
        return Valid(username: username, email: email, status: status)
    }
}

struct UserID: Codable, Sendable {
    var id: String?

    /// The route parameter (`/users/:id`) or the body's id.
    func id(from context: RequestContext) throws -> String {
        let id = context.parameter("id") ?? self.id ?? ""
        guard !id.isEmpty else { throw PluginError.validation(field: "id", "is required") }
        return id
    }
}

struct UpdateUser: Codable, Sendable {
    var id: String?
    var username: String?
    var email: String?
    var status: String?

    func validated() throws -> UpdateUser {
        var errors: [PluginError.FieldError] = []
        var copy = self
        if let username { copy.username = username.trimmingCharacters(in: .whitespaces); UserRules.username(copy.username!, into: &errors) }
        if let email { copy.email = email.trimmingCharacters(in: .whitespaces).lowercased(); UserRules.email(copy.email!, into: &errors) }
        if let status { UserRules.status(status, into: &errors) }
        if username == nil && email == nil && status == nil {
            errors.append(.init(field: "username", message: "nothing to update: give username, email or status"))
        }
        try UserRules.check(errors)
        return copy
    }
}

struct SearchUsers: Codable, Sendable {
    var query: String?
    var status: String?
    /// ISO 8601: users created strictly after.
    var createdAfter: String?
    var page: Int?
    var limit: Int?

    enum CodingKeys: String, CodingKey {
        case query, status, page, limit
        case createdAfter = "created_after"
    }

    struct Valid: Sendable {
        var query: String?
        var status: String?
        var createdAfterMilliseconds: Int64?
        var page: Int
        var limit: Int
    }

    /// Query-string filters (GET /users?query=ada&page=2) win over the body's.
    func merging(query string: String?) -> SearchUsers {
        guard let string, !string.isEmpty else { return self }
        var copy = self
        for pair in string.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1).map {
                String($0).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String($0)
            }
            guard parts.count == 2 else { continue }
            switch parts[0] {
            case "query", "q": copy.query = parts[1]
            case "status": copy.status = parts[1]
            case "created_after": copy.createdAfter = parts[1]
            case "page": copy.page = Int(parts[1]) ?? -1
            case "limit": copy.limit = Int(parts[1]) ?? -1
            default: break
            }
        }
        return copy
    }

    func validated() throws -> Valid {
        var errors: [PluginError.FieldError] = []
        if let status { UserRules.status(status, into: &errors) }
        var after: Int64?
        if let createdAfter {
            if let date = ISO8601DateFormatter().date(from: createdAfter) {
                after = Int64(date.timeIntervalSince1970 * 1_000)
            } else {
                errors.append(.init(field: "created_after", message: "must be an ISO 8601 date-time, e.g. 2026-01-31T12:00:00Z"))
            }
        }
        let page = self.page ?? 0
        let limit = self.limit ?? 20
        if page < 0 { errors.append(.init(field: "page", message: "must be 0 or more")) }
        if limit < 1 || limit > 100 { errors.append(.init(field: "limit", message: "must be 1 to 100")) }
        try UserRules.check(errors)
        let query = self.query?.trimmingCharacters(in: .whitespaces)
        return Valid(query: query?.isEmpty == true ? nil : query, status: status, createdAfterMilliseconds: after,
                     page: page, limit: limit)
    }
}
