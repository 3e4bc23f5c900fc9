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
        CREATE TABLE IF NOT EXISTS kn_storage.roles (plugin TEXT PRIMARY KEY, role TEXT NOT NULL, password TEXT NOT NULL);
        REVOKE ALL ON SCHEMA kn_storage FROM PUBLIC;
        """

    /// The schema of a plugin's SQL tables, quoted (plugin names may hold '-').
    static func space(_ plugin: String) -> String { "\"plugin_\(plugin)\"" }

    /// The role a plugin's SQL logs in as, in `database` (roles belong to
    /// the whole server, so the database is part of the name). Unquoted; at
    /// most 63 bytes, the longest PostgreSQL identifier.
    static func role(_ plugin: String, database: String) -> String {
        "kn_" + hash(database) + "_" + String(plugin.prefix(50)) + (plugin.utf8.count > 50 ? "_" + hash(plugin) : "")
    }

    /// FNV-1a in hex: stable across runs and processes.
    private static func hash(_ text: String) -> String {
        var value: UInt32 = 2_166_136_261
        for byte in text.utf8 { value = (value ^ UInt32(byte)) &* 16_777_619 }
        return String(value, radix: 16)
    }

    /// Gives `role` the schema `schema` and everything in it, and nothing
    /// else: it owns the schema, nobody else may use it, and it cannot
    /// become another role. Run by the storage's own role (CREATEROLE needed).
    static func isolate(schema: String, role: String, password: String) -> String {
        let bare = String(schema.dropFirst().dropLast()) // the name without its quotes, for catalog lookups
        return """
            SELECT pg_advisory_xact_lock(7261737);
            DO $kn$ BEGIN
              IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '\(role)') THEN CREATE ROLE "\(role)"; END IF;
            END $kn$;
            ALTER ROLE "\(role)" LOGIN PASSWORD '\(password)' NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT NOREPLICATION NOBYPASSRLS;
            CREATE SCHEMA IF NOT EXISTS \(schema);
            ALTER SCHEMA \(schema) OWNER TO "\(role)";
            REVOKE ALL ON SCHEMA \(schema) FROM PUBLIC;
            DO $kn$ DECLARE r record; BEGIN
              FOR r IN SELECT c.oid::regclass AS name, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                       WHERE n.nspname = '\(bare)' AND c.relkind IN ('r', 'p', 'v', 'm', 'f') LOOP
                EXECUTE format('ALTER %s %s OWNER TO %I',
                  CASE r.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' WHEN 'f' THEN 'FOREIGN TABLE' ELSE 'TABLE' END,
                  r.name, '\(role)');
              END LOOP;
            END $kn$;
            """
    }
}
