import Foundation
import KernelSDK

/// Users in the plugin's SQL tables. The SQL is portable between SQLite and
/// PostgreSQL ($N parameters, BIGINT milliseconds, TEXT ids); e-mails are
/// kept in lower case and unique among users not deleted.
struct UserStore: Sendable {
    let storage: Storage

    static let migrations = [
        Migration(1, """
            CREATE TABLE users (
                id TEXT PRIMARY KEY, username TEXT NOT NULL, email TEXT NOT NULL, status TEXT NOT NULL,
                created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL, deleted_at BIGINT);
            CREATE UNIQUE INDEX users_email_live ON users (email) WHERE deleted_at IS NULL;
            """),
        Migration(2, "CREATE INDEX users_created ON users (created_at, id)"),
    ]

    static let columns = "id, username, email, status, created_at, updated_at"

    func migrate() async throws {
        try await storage.sql.migrate(Self.migrations)
    }

    func create(_ user: CreateUser.Valid) async throws -> User {
        let now = Self.now()
        let id = UUID().uuidString.lowercased()
        do {
            let rows = try await storage.sql.query("""
                INSERT INTO users (id, username, email, status, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5)
                RETURNING \(Self.columns)
                """, [.text(id), .text(user.username), .text(user.email), .text(user.status), .integer(now)])
            try await audit("created", id)
            return try Self.user(rows.first)
        } catch let error as PluginError where error.code == .conflict {
            // The unique index decides, so two concurrent creates cannot both win.
            throw Self.duplicate(user.email)
        }
    }

    func get(_ id: String) async throws -> User {
        let rows = try await storage.sql.query(
            "SELECT \(Self.columns) FROM users WHERE id = $1 AND deleted_at IS NULL", [.text(id)])
        guard let row = rows.first else { throw Self.missing(id) }
        return try Self.user(row)
    }

    func search(_ search: SearchUsers.Valid) async throws -> SearchResult {
        var conditions = ["deleted_at IS NULL"]
        var parameters: [SQLValue] = []
        func parameter(_ value: SQLValue) -> String {
            parameters.append(value)
            return "$\(parameters.count)"
        }
        if let query = search.query {
            let pattern = parameter(.text("%" + Self.escapeLike(query.lowercased()) + "%"))
            conditions.append("(lower(username) LIKE \(pattern) ESCAPE '\\' OR email LIKE \(pattern) ESCAPE '\\')")
        }
        if let status = search.status { conditions.append("status = \(parameter(.text(status)))") }
        if let after = search.createdAfterMilliseconds { conditions.append("created_at > \(parameter(.integer(after)))") }
        let filter = conditions.joined(separator: " AND ")
        let total = try await storage.sql.query("SELECT count(*) AS total FROM users WHERE \(filter)", parameters)
        let totalCount = Int(total.first?["total"].int ?? 0)
        let limit = parameter(.integer(Int64(search.limit)))
        let offset = parameter(.integer(Int64(search.page * search.limit)))
        let rows = try await storage.sql.query("""
            SELECT \(Self.columns) FROM users WHERE \(filter)
            ORDER BY created_at DESC, id LIMIT \(limit) OFFSET \(offset)
            """, parameters)
        return SearchResult(users: try rows.rows.map { try Self.user($0) }, totalCount: totalCount, page: search.page,
                            limit: search.limit, hasMore: (search.page + 1) * search.limit < totalCount)
    }

    func update(_ change: UpdateUser) async throws -> User {
        let id = change.id ?? ""
        do {
            let updated = try await storage.sql.transaction { tx -> User in
                let rows = try await tx.query(
                    "SELECT \(Self.columns) FROM users WHERE id = $1 AND deleted_at IS NULL", [.text(id)])
                guard let row = rows.first else { throw Self.missing(id) }
                let current = try Self.user(row)
                let result = try await tx.query("""
                    UPDATE users SET username = $2, email = $3, status = $4, updated_at = $5
                    WHERE id = $1 AND deleted_at IS NULL RETURNING \(Self.columns)
                    """, [.text(id), .text(change.username ?? current.username), .text(change.email ?? current.email),
                          .text(change.status ?? current.status), .integer(Self.now())])
                return try Self.user(result.first)
            }
            try await audit("updated", id)
            return updated
        } catch let error as PluginError where error.code == .conflict {
            throw Self.duplicate(change.email ?? "")
        }
    }

    func delete(_ id: String) async throws {
        let changed = try await storage.sql.execute(
            "UPDATE users SET deleted_at = $2, updated_at = $2 WHERE id = $1 AND deleted_at IS NULL",
            [.text(id), .integer(Self.now())])
        guard changed == 1 else { throw Self.missing(id) }
        try await audit("deleted", id)
    }

    /// Every change is appended to the plugin's `audit` log stream.
    private func audit(_ action: String, _ id: String) async throws {
        try await storage.log("audit").append(json: ["action": action, "id": id])
    }

    // MARK: Rows and errors

    static func user(_ row: SQLRow?) throws -> User {
        guard let row else { throw PluginError.internal("the statement returned no user") }
        return User(id: row["id"].string ?? "", username: row["username"].string ?? "", email: row["email"].string ?? "",
                    status: row["status"].string ?? "", createdAt: iso(row["created_at"].int ?? 0),
                    updatedAt: iso(row["updated_at"].int ?? 0))
    }

    static func missing(_ id: String) -> PluginError {
        PluginError(.notFound, "no user with id '\(id)'", details: ["user_id": id])
    }

    static func duplicate(_ email: String) -> PluginError {
        PluginError(.conflict, "a user with email '\(email)' already exists", details: ["email": email])
    }

    static func escapeLike(_ text: String) -> String {
        text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "%", with: "\\%")
            .replacingOccurrences(of: "_", with: "\\_")
    }

    static func now() -> Int64 { Int64(Date().timeIntervalSince1970 * 1_000) }

    static func iso(_ milliseconds: Int64) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: Date(timeIntervalSince1970: Double(milliseconds) / 1_000))
    }
}
