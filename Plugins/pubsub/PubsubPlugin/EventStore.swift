import KernelSDK

/// The event log on the storage service. One writer per process (the
/// group commit); on PostgreSQL the writers of every kernel take one
/// advisory lock, so offsets become visible in order and a reader that saw
/// offset n never finds a smaller one later.
struct EventStore: Sendable {
    let kernel: PluginContext
    let postgres: Bool

    var sql: SQLDatabase { get throws(PluginError) { try kernel.storage().sql } }

    static let width = 10

    /// Stores `events` in one transaction; their offsets, in the same order.
    func append(_ events: [NewEvent]) async throws -> [UInt64] {
        try await sql.transaction { tx in
            if postgres { _ = try await tx.query("SELECT pg_advisory_xact_lock(7346012)") }
            var offsets: [UInt64] = []
            offsets.reserveCapacity(events.count)
            // At most 1000 rows per statement: 10,000 parameters, under every backend's limit.
            var start = 0
            while start < events.count {
                let chunk = events[start..<min(events.count, start + 1_000)]
                var values: [SQLValue] = []
                values.reserveCapacity(chunk.count * Self.width)
                for event in chunk {
                    values.append(.text(event.id))
                    values.append(.text(event.topic))
                    values.append(.text(String(decoding: event.payload, as: UTF8.self)))
                    values.append(.integer(event.createdAt))
                    values.append(.text(event.publisher))
                    values.append(event.user.map(SQLValue.text) ?? .null)
                    values.append(event.tenant.map(SQLValue.text) ?? .null)
                    values.append(event.session.map(SQLValue.text) ?? .null)
                    values.append(event.requestID.map(SQLValue.text) ?? .null)
                    values.append(event.headers.isEmpty ? .null : .text(String(decoding: event.headers, as: UTF8.self)))
                }
                let inserted = try await tx.query("""
                    INSERT INTO events (id, topic, payload, created_at, publisher, user_id, tenant, session, request_id, headers)
                    VALUES \(Self.placeholders(rows: chunk.count)) RETURNING event_offset
                    """, values)
                // Rows of one statement take increasing offsets in VALUES order.
                offsets.append(contentsOf: inserted.rows.compactMap { $0[0].int }.map { UInt64($0) }.sorted())
                start += chunk.count
            }
            return offsets
        }
    }

    /// `($1,…,$10),($11,…)` for `rows` rows; the full chunk's text is made once.
    static func placeholders(rows: Int) -> String {
        rows == 1_000 ? fullChunk : makePlaceholders(rows: rows)
    }
    private static let fullChunk = makePlaceholders(rows: 1_000)
    private static func makePlaceholders(rows: Int) -> String {
        (0..<rows).map { row in "(" + (1...width).map { "$\(row * width + $0)" }.joined(separator: ",") + ")" }
            .joined(separator: ",")
    }

    /// Stored events after `offset`, oldest first.
    func read(after offset: UInt64, limit: Int) async throws(PluginError) -> [StoredEvent] {
        try await sql.query("""
            SELECT \(StoredEvent.columns) FROM events WHERE event_offset > $1 ORDER BY event_offset LIMIT $2
            """, [.integer(Int64(offset)), .integer(Int64(limit))]).rows.map(StoredEvent.init)
    }

    /// The oldest and newest offsets kept (nil when the log is empty).
    func bounds() async throws(PluginError) -> (oldest: UInt64, head: UInt64)? {
        let row = try await sql.query("SELECT MIN(event_offset) AS oldest, MAX(event_offset) AS head FROM events").rows.first
        guard let oldest = row?["oldest"].int, let head = row?["head"].int else { return nil }
        return (UInt64(oldest), UInt64(head))
    }

    /// The offset just before the first event at or after `milliseconds`.
    func cursor(at milliseconds: Int64) async throws(PluginError) -> UInt64 {
        let row = try await sql.query("SELECT MIN(event_offset) AS first FROM events WHERE created_at >= $1",
                                      [.integer(milliseconds)]).rows.first
        if let first = row?["first"].int { return UInt64(first) - 1 }
        return try await bounds()?.head ?? 0
    }

    /// The newest offset and time retention removed among the topics `matching`; nil when none was.
    func trimmed(matching matches: (String) -> Bool) async throws(PluginError) -> (offset: UInt64, time: Int64)? {
        var newest: (offset: UInt64, time: Int64)?
        for row in try await sql.query("SELECT topic, through_offset, through_time FROM trims").rows {
            guard let topic = row[0].string, matches(topic), let offset = row[1].int, let time = row[2].int else { continue }
            newest = (max(newest?.offset ?? 0, UInt64(offset)), max(newest?.time ?? .min, time))
        }
        return newest
    }
}
