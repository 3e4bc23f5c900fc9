/// The store's own tables in `storage.sqlite`. Expiry 0 means "no TTL";
/// keys are BLOBs so they sort byte-wise, as on PostgreSQL (bytea).
enum SQLiteSchema {
    static let create = """
        CREATE TABLE IF NOT EXISTS kn_meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
        INSERT OR IGNORE INTO kn_meta (key, value) VALUES ('kv_version', 0);
        CREATE TABLE IF NOT EXISTS kn_kv (
            ns TEXT NOT NULL, key BLOB NOT NULL, value BLOB NOT NULL,
            version INTEGER NOT NULL, expires_at INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (ns, key)) WITHOUT ROWID;
        CREATE INDEX IF NOT EXISTS kn_kv_expiry ON kn_kv (expires_at) WHERE expires_at > 0;
        CREATE TABLE IF NOT EXISTS kn_log_streams (
            ns TEXT NOT NULL, stream TEXT NOT NULL,
            first_offset INTEGER NOT NULL, next_offset INTEGER NOT NULL,
            PRIMARY KEY (ns, stream)) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS kn_log (
            ns TEXT NOT NULL, stream TEXT NOT NULL, off INTEGER NOT NULL,
            appended_at INTEGER NOT NULL, payload BLOB NOT NULL,
            PRIMARY KEY (ns, stream, off)) WITHOUT ROWID;
        """

    /// WAL: readers never block the writer. synchronous: FULL (default)
    /// fsyncs the WAL at every commit, so an acknowledged write survives a
    /// power loss, not only kill -9; NORMAL survives kill -9 (the WAL is in
    /// the OS's hands) but may lose the last commits on power loss.
    static func pragmas(synchronous: SQLiteSynchronous) -> String {
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = \(synchronous.rawValue); PRAGMA foreign_keys = ON;"
    }
}

public enum SQLiteSynchronous: String, Sendable {
    case full = "FULL"
    case normal = "NORMAL"
}
