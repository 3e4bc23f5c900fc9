import KernelSDK

/// Deletes what the retention rules no longer keep: per topic, the first
/// rule whose pattern matches applies (age, count or both). The newest
/// event of the log is always kept, so the head offset stays known.
struct Retention: Sendable {
    let store: EventStore
    let rules: [PubsubSettings.RetentionRule]
    let kernel: PluginContext

    func run() async {
        do {
            let sql = try store.sql
            guard let head = try await store.bounds()?.head else { return }
            let topics = try await sql.query("SELECT DISTINCT topic FROM events").rows.compactMap { $0["topic"].string }
            let now = WireJSON.now()
            var deleted: UInt64 = 0
            for topic in topics {
                guard let rule = rules.first(where: { $0.pattern.matches(topic) }) else { continue }
                if let age = rule.maxAgeMilliseconds {
                    deleted += try await trim(topic, "created_at < $2", .integer(now - age), head: head)
                }
                if let count = rule.maxCount {
                    let rows = try await sql.query("""
                        SELECT event_offset FROM events WHERE topic = $1 ORDER BY event_offset DESC LIMIT 1 OFFSET $2
                        """, [.text(topic), .integer(count)])
                    if let boundary = rows.rows.first?[0].int {
                        deleted += try await trim(topic, "event_offset <= $2", .integer(boundary), head: head)
                    }
                }
            }
            if deleted > 0 { kernel.log(.info, "pubsub: retention removed \(deleted) events") }
        } catch {
            kernel.log(.warning, "pubsub: retention failed: \(error)")
        }
    }

    /// Deletes `topic`'s events matching `condition` (on $2) but the log's
    /// newest, and records the newest offset and time it removed, in one transaction.
    private func trim(_ topic: String, _ condition: String, _ value: SQLValue, head: UInt64) async throws -> UInt64 {
        try await store.sql.transaction { tx in
            let scope = "topic = $1 AND \(condition) AND event_offset < $3"
            let parameters: [SQLValue] = [.text(topic), value, .integer(Int64(head))]
            let newest = try await tx.query("SELECT MAX(event_offset) AS o, MAX(created_at) AS t FROM events WHERE \(scope)",
                                            parameters).rows.first
            guard let offset = newest?["o"].int, let time = newest?["t"].int else { return 0 }
            let deleted = try await tx.execute("DELETE FROM events WHERE \(scope)", parameters)
            _ = try await tx.execute("""
                INSERT INTO trims (topic, through_offset, through_time) VALUES ($1, $2, $3)
                ON CONFLICT (topic) DO UPDATE SET
                    through_offset = CASE WHEN excluded.through_offset > trims.through_offset THEN excluded.through_offset ELSE trims.through_offset END,
                    through_time = CASE WHEN excluded.through_time > trims.through_time THEN excluded.through_time ELSE trims.through_time END
                """, [.text(topic), .integer(offset), .integer(time)])
            return deleted
        }
    }
}
