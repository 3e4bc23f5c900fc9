import Foundation
import PostgresNIO

/// Where and how to reach PostgreSQL: from `url`
/// (`postgres://user:password@host:port/database?sslmode=disable`; a
/// `host=/socket/dir` query item selects a Unix socket).
public struct PostgresSettings: Sendable {
    public var url: String
    /// How long one operation may wait for the server, including getting a
    /// connection; past it the operation fails as unavailable.
    public var operationTimeout: Duration
    public var maxConnections: Int

    public init(url: String, operationTimeout: Duration = .seconds(10), maxConnections: Int = 8) {
        self.url = url
        self.operationTimeout = operationTimeout
        self.maxConnections = maxConnections
    }

    /// The database of the URL ("" for the server's default).
    var databaseName: String {
        guard let path = URLComponents(string: url)?.path else { return "" }
        return path.hasPrefix("/") ? String(path.dropFirst()) : path
    }

    /// The URL without its password, for logs and the operator view.
    public var redactedURL: String {
        guard var components = URLComponents(string: url), components.password != nil else { return url }
        components.password = "***"
        return components.string ?? url
    }

    /// `login`: another role to log in as (a plugin's own), instead of the URL's.
    func clientConfiguration(searchPath: String? = nil, maxConnections: Int? = nil,
                             login: (user: String, password: String)? = nil) throws -> PostgresClient.Configuration {
        guard let components = URLComponents(string: url),
              let scheme = components.scheme, scheme == "postgres" || scheme == "postgresql"
        else { throw StorageError.invalidArgument("storage.url must be postgres://user:password@host:port/database") }
        let query = Dictionary((components.queryItems ?? []).map { ($0.name, $0.value ?? "") }, uniquingKeysWith: { $1 })
        let user = login?.user ?? components.user.flatMap { $0.removingPercentEncoding } ?? "postgres"
        let password = login?.password ?? components.password?.removingPercentEncoding
        let path = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        let database = path.isEmpty ? nil : path
        var configuration: PostgresClient.Configuration
        if let socketDirectory = query["host"], socketDirectory.hasPrefix("/") {
            let port = components.port ?? 5432
            configuration = .init(unixSocketPath: "\(socketDirectory)/.s.PGSQL.\(port)", username: user,
                                  password: password, database: database)
        } else {
            let tls: PostgresClient.Configuration.TLS
            switch query["sslmode"] ?? "prefer" {
            case "disable": tls = .disable
            case "require", "verify-ca", "verify-full": tls = .require(.makeClientConfiguration())
            default: tls = .prefer(.makeClientConfiguration())
            }
            configuration = .init(host: components.host ?? "localhost", port: components.port ?? 5432, username: user,
                                  password: password, database: database, tls: tls)
        }
        configuration.options.maximumConnections = maxConnections ?? self.maxConnections
        configuration.options.connectTimeout = operationTimeout
        if let searchPath {
            configuration.options.additionalStartupParameters = [("search_path", searchPath)]
        }
        return configuration
    }
}
