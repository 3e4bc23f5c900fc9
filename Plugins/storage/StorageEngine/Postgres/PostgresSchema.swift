import Logging
import PostgresNIO

/// The store's own tables, in schema `kn_storage`. Created under an
/// advisory lock, so kernels starting together on one database do not race.
enum PostgresSchema {
    /// Creates the store's tables unless they exist. Once they do, no
    /// advisory lock is taken: any role may hold one, and a plugin holding
    /// it must not keep storage from starting.
    static func prepare(on connection: PostgresConnection, logger: Logger) async throws {
        let exists = try await connection.query("SELECT pg_catalog.to_regclass('kn_storage.roles') IS NOT NULL", logger: logger).get()
        if try exists.rows.first?.decode(Bool.self) == true {
            _ = try await connection.query("REVOKE ALL ON SCHEMA kn_storage FROM PUBLIC", logger: logger).get()
        } else {
            try await PostgresScript.run(create, on: connection, logger: logger)
        }
    }

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
        // 3 + 8 + 1 + 40 + 1 + 8 = 61 bytes at most: nothing is cut, so two long names never share a role.
        "kn_" + hash(database) + "_" + String(plugin.prefix(40)) + (plugin.utf8.count > 40 ? "_" + hash(plugin) : "")
    }

    /// FNV-1a as 8 hex digits: stable across runs and processes.
    private static func hash(_ text: String) -> String {
        var value: UInt32 = 2_166_136_261
        for byte in text.utf8 { value = (value ^ UInt32(byte)) &* 16_777_619 }
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 8 - digits.count) + digits
    }

    /// Gives `role` the schema `schema` and everything in it, and nothing
    /// else: it owns the schema and what is in it, nobody else may use it,
    /// and it cannot become another role. Run by the storage's own role,
    /// which needs CREATEROLE (not superuser): a new role has every other
    /// attribute off already, and the storage makes itself a member of the
    /// role so that it may hand it ownership. Serialised by a table lock
    /// that plugin roles cannot take.
    static func isolate(schema: String, role: String, password: String) -> String {
        let bare = String(schema.dropFirst().dropLast()) // the name without its quotes, for catalog lookups
        return """
            LOCK TABLE kn_storage.roles IN SHARE ROW EXCLUSIVE MODE;
            DO $kn$ BEGIN
              IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = '\(role)') THEN
                CREATE ROLE "\(role)" LOGIN NOINHERIT;
              END IF;
              IF NOT pg_catalog.pg_has_role(CURRENT_USER, '\(role)', 'MEMBER') THEN
                EXECUTE pg_catalog.format('GRANT %I TO %I', '\(role)', CURRENT_USER);
              END IF;
            END $kn$;
            ALTER ROLE "\(role)" LOGIN PASSWORD '\(password)';
            CREATE SCHEMA IF NOT EXISTS \(schema);
            ALTER SCHEMA \(schema) OWNER TO "\(role)";
            REVOKE ALL ON SCHEMA \(schema) FROM PUBLIC;
            DO $kn$ DECLARE r record; BEGIN
              FOR r IN SELECT c.oid::pg_catalog.regclass AS name, c.relkind FROM pg_catalog.pg_class c
                       JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
                       WHERE n.nspname = '\(bare)' AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
                         AND NOT EXISTS (SELECT FROM pg_catalog.pg_depend d WHERE d.objid = c.oid AND d.deptype IN ('a', 'i')) LOOP
                EXECUTE pg_catalog.format('ALTER %s %s OWNER TO %I',
                  CASE r.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' WHEN 'f' THEN 'FOREIGN TABLE'
                                 WHEN 'S' THEN 'SEQUENCE' ELSE 'TABLE' END,
                  r.name, '\(role)');
              END LOOP;
              FOR r IN SELECT p.oid::pg_catalog.regprocedure AS name FROM pg_catalog.pg_proc p
                       JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = '\(bare)' LOOP
                EXECUTE pg_catalog.format('ALTER ROUTINE %s OWNER TO %I', r.name, '\(role)');
              END LOOP;
            END $kn$;
            """
    }
}
