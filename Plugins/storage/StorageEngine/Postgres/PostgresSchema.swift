/// The store's own tables, in schema `kn_storage`. Created under an
/// advisory lock, so kernels starting together on one database do not race.
enum PostgresSchema {
    static let create = """
        SELECT pg_advisory_xact_lock(7261736);
        CREATE SCHEMA IF NOT EXISTS kn_storage;
        CREATE SEQUENCE IF NOT EXISTS kn_storage.kv_version;
        CREATE TABLE IF NOT EXISTS kn_storage.kv (
            ns TEXT NOT NULL, key BYTEA NOT NULL, value BYTEA NOT NULL,
            version BIGINT NOT NULL, expires_at BIGINT NOT NULL DEFAULT 0,
            PRIMARY KEY (ns, key));
        CREATE INDEX IF NOT EXISTS kv_expiry ON kn_storage.kv (expires_at) WHERE expires_at > 0;
        CREATE TABLE IF NOT EXISTS kn_storage.log_streams (
            ns TEXT NOT NULL, stream TEXT NOT NULL,
            first_offset BIGINT NOT NULL, next_offset BIGINT NOT NULL,
            PRIMARY KEY (ns, stream));
        CREATE TABLE IF NOT EXISTS kn_storage.log (
            ns TEXT NOT NULL, stream TEXT NOT NULL, off BIGINT NOT NULL,
            appended_at BIGINT NOT NULL, payload BYTEA NOT NULL,
            PRIMARY KEY (ns, stream, off));
        """

    /// The schema of a plugin's SQL tables, quoted (plugin names may hold '-').
    static func space(_ plugin: String) -> String { "\"plugin_\(plugin)\"" }
}
