/// The storage plugin's settings (config section `[storage]`, or
/// `--set storage.<key>=<value>`):
///
///     backend = sqlite | postgres        (default sqlite)
///     url = postgres://user:pw@host:5432/db?sslmode=disable   (postgres)
///     synchronous = full | normal        (sqlite; default full)
///     timeout_ms = 10000                 (postgres: per operation)
///     max_connections = 8                (postgres)
///     transaction_timeout_ms = 30000     (idle transactions are rolled back)
public struct StorageConfiguration: Sendable {
    public enum Backend: Sendable {
        case sqlite(directory: String, synchronous: SQLiteSynchronous)
        case postgres(PostgresSettings)
    }

    public var backend: Backend
    public var transactionTimeout: Duration

    public init(backend: Backend, transactionTimeout: Duration = .seconds(30)) {
        self.backend = backend
        self.transactionTimeout = transactionTimeout
    }

    /// Reads the settings through `value(key)`; the SQLite files go to `dataDirectory`.
    public static func read(_ value: (String) -> String?, dataDirectory: String) throws -> StorageConfiguration {
        func number(_ key: String, _ fallback: Int) throws -> Int {
            guard let text = value(key) else { return fallback }
            guard let number = Int(text), number > 0 else {
                throw StorageError.invalidArgument("storage.\(key) must be a positive integer, got '\(text)'")
            }
            return number
        }
        let transactionTimeout = Duration.milliseconds(try number("transaction_timeout_ms", 30_000))
        switch (value("backend") ?? "sqlite").lowercased() {
        case "sqlite":
            let mode = (value("synchronous") ?? "full").uppercased()
            guard let synchronous = SQLiteSynchronous(rawValue: mode) else {
                throw StorageError.invalidArgument("storage.synchronous must be full or normal, got '\(mode)'")
            }
            return StorageConfiguration(backend: .sqlite(directory: dataDirectory, synchronous: synchronous),
                                        transactionTimeout: transactionTimeout)
        case "postgres", "postgresql":
            guard let url = value("url"), !url.isEmpty else {
                throw StorageError.invalidArgument("storage.backend = postgres needs storage.url = postgres://...")
            }
            let settings = PostgresSettings(url: url, operationTimeout: .milliseconds(try number("timeout_ms", 10_000)),
                                            maxConnections: try number("max_connections", 8))
            _ = try settings.clientConfiguration() // a malformed URL fails now, not at the first call
            return StorageConfiguration(backend: .postgres(settings), transactionTimeout: transactionTimeout)
        case let other:
            throw StorageError.invalidArgument("storage.backend must be sqlite or postgres, got '\(other)'")
        }
    }

    public func openBackend() async throws -> any StorageBackend {
        switch backend {
        case .sqlite(let directory, let synchronous): try await SQLiteBackend.open(directory: directory, synchronous: synchronous)
        case .postgres(let settings): try await PostgresBackend.open(settings)
        }
    }
}
