import KernelSDK

/// Operators' queue settings (`kernelctl queues pause|resume|set`), kept in
/// the `queues` table so that they outlive restarts, over the config's.
struct QueueStore: Sendable {
    let store: JobStore

    func applyOverrides(to queues: inout [String: QueueSettings]) async throws(PluginError) {
        for row in try await store.sql.query("SELECT name, paused, concurrency, rate FROM queues").rows {
            guard let name = row["name"].string else { continue }
            var queue = queues[name] ?? QueueSettings(name: name, concurrency: 10, rate: 0, timeout_ms: 0, paused: false)
            queue.paused = (row["paused"].int ?? 0) != 0
            if let concurrency = row["concurrency"].int { queue.concurrency = Int(concurrency) }
            if let rate = row["rate"].double ?? row["rate"].int.map(Double.init) { queue.rate = rate }
            queues[name] = queue
        }
    }

    func save(_ queue: QueueSettings) async throws(PluginError) {
        try await store.sql.execute("""
            INSERT INTO queues (name, paused, concurrency, rate) VALUES ($1, $2, $3, $4)
            ON CONFLICT (name) DO UPDATE SET paused = $2, concurrency = $3, rate = $4
            """, [.text(queue.name), .integer(queue.paused ? 1 : 0), .integer(Int64(queue.concurrency)), .real(queue.rate)])
    }

    /// Jobs per queue and state, unfinished ones only.
    func depths() async throws(PluginError) -> [String: [String: Int64]] {
        var depths: [String: [String: Int64]] = [:]
        let rows = try await store.sql.query(
            "SELECT queue, state, COUNT(*) AS n FROM jobs WHERE state IN \(JobState.unfinishedSQL) GROUP BY queue, state")
        for row in rows.rows {
            guard let queue = row["queue"].string, let state = row["state"].string else { continue }
            depths[queue, default: [:]][state] = row["n"].int ?? 0
        }
        return depths
    }
}
