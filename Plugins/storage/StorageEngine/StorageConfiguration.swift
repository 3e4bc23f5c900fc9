/// The storage plugin's settings (config section `[storage]`, or
/// `--set storage.<key>=<value>`):
///
///     backend = sqlite | postgres        (default sqlite)
///     url = postgres://user:pw@host:5432/db?sslmode=disable   (postgres)
///     synchronous = full | normal        (sqlite; default full)
///     timeout_ms = 10000                 (postgres: per operation)
///     max_connections = 8                (postgres)
///     transaction_timeout_ms = 30000     (idle transactions are rolled back)
///     ttl_sweep_ms = 5000                (how often expired keys are deleted)
///
/// PostgreSQL that cannot be reached at start does not stop storage: it
/// starts, answers `unavailable` and reconnects with backoff (`ConnectingBackend`).
public struct StorageConfiguration: Sendable {
    public enum Backend: Sendable {
        case sqlite(directory: String, synchronous: SQLiteSynchronous)
        case postgres(PostgresSettings)
    }

    public var backend: Backend
    public var transactionTimeout: Duration
    /// How often expired keys are deleted (readers already ignore them).
    public var sweepInterval: Duration

    public init(backend: Backend, transactionTimeout: Duration = .seconds(30), sweepInterval: Duration = .seconds(5)) {
        self.backend = backend
        self.transactionTimeout = transactionTimeout
        self.sweepInterval = sweepInterval
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
        let sweepInterval = Duration.milliseconds(try number("ttl_sweep_ms", 5_000))
        switch (value("backend") ?? "sqlite").lowercased() {
        case "sqlite":
            let mode = (value("synchronous") ?? "full").uppercased()
            guard let synchronous = SQLiteSynchronous(rawValue: mode) else {
                throw StorageError.invalidArgument("storage.synchronous must be full or normal, got '\(mode)'")
            }
            return StorageConfiguration(backend: .sqlite(directory: dataDirectory, synchronous: synchronous),
                                        transactionTimeout: transactionTimeout, sweepInterval: sweepInterval)
        case "postgres", "postgresql":
            guard let url = value("url"), !url.isEmpty else {
                throw StorageError.invalidArgument("storage.backend = postgres needs storage.url = postgres://...")
            }
            let settings = PostgresSettings(url: url, operationTimeout: .milliseconds(try number("timeout_ms", 10_000)),
                                            maxConnections: try number("max_connections", 8))
            _ = try settings.clientConfiguration() // a malformed URL fails now, not at the first call
            return StorageConfiguration(backend: .postgres(settings), transactionTimeout: transactionTimeout,
                                        sweepInterval: sweepInterval)
        case let other:
            throw StorageError.invalidArgument("storage.backend must be sqlite or postgres, got '\(other)'")
        }
    }

    /// Opens the backend. A PostgreSQL server that cannot be reached now
    /// gives a `ConnectingBackend`, which keeps trying; other failures throw.
    public func openBackend() async throws -> any StorageBackend {
        switch backend {
        case .sqlite(let directory, let synchronous):
            return try await SQLiteBackend.open(directory: directory, synchronous: synchronous)
        case .postgres(let settings):
            do {
                return try await PostgresBackend.open(settings)
            } catch let error as StorageError where error.code == .unavailable || error.code == .timeout {
                return ConnectingBackend(name: "postgres", location: settings.redactedURL, firstError: error.message) {
                    try await PostgresBackend.open(settings)
                }
            }
        }
    }
}
