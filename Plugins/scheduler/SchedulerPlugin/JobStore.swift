import KernelSDK
import Synchronization

/// The jobs table on the storage service: insert, claim, finish, rescue.
/// One dialect difference matters: PostgreSQL claims with `SKIP LOCKED`, so
/// several kernels on one database never claim the same job.
struct JobStore: Sendable {
    let kernel: PluginContext
    let postgres: Bool
    /// This process and instance, as written in `claimed_by`.
    let node: String
    /// Completed jobs are kept for their retention; without one they are deleted at once.
    let keepCompleted: Bool

    var sql: SQLDatabase { get throws(PluginError) { try kernel.storage().sql } }

    static let insertColumns = """
        name, queue, state, priority, payload, max_attempts, run_at, timeout_ms, unique_key, unique_for_ms, \
        schedule, fire_at, enqueued_by, inserted_at, request_id
        """
    static let insertWidth = 15

    // MARK: Insert

    /// Stores `jobs` in one transaction; unique ones after a check of their key.
    func insert(_ jobs: [NewJob]) async throws -> [InsertResult] {
        let now = WallClock.now()
        return try await sql.transaction { tx in
            var results = [InsertResult?](repeating: nil, count: jobs.count)
            var plain: [Int] = []
            var seen: [String: Int64] = [:]
            for (index, job) in jobs.enumerated() {
                if let schedule = job.schedule, let fireAt = job.fireAt {
                    // One job per fire, whoever fires it: the fire's row is taken in this transaction.
                    let taken = try await tx.query("""
                        INSERT INTO fires (schedule, fire_at, fired_at, outcome) VALUES ($1, $2, $3, 'enqueued')
                        ON CONFLICT (schedule, fire_at) DO UPDATE SET outcome = 'enqueued', fired_at = $3
                        WHERE fires.outcome IN ('queued','withdrawn') RETURNING schedule
                        """, [.text(schedule), .integer(fireAt), .integer(now)])
                    if taken.isEmpty {
                        let existing = try await tx.query("SELECT job_id FROM fires WHERE schedule = $1 AND fire_at = $2",
                                                          [.text(schedule), .integer(fireAt)])
                        results[index] = .duplicate(existing.first?["job_id"].int ?? 0)
                        continue
                    }
                }
                guard let key = job.uniqueKey else { plain.append(index); continue }
                let scope = "\(job.name)\u{0}\(key)"
                if let id = seen[scope] { results[index] = .duplicate(id); continue }
                let existing = try await tx.query("""
                    SELECT id FROM jobs WHERE name = $1 AND unique_key = $2
                    AND (state IN \(JobState.unfinishedSQL) OR ($3 > 0 AND inserted_at >= $4)) ORDER BY id DESC LIMIT 1
                    """, [.text(job.name), .text(key), .integer(job.uniqueForMilliseconds),
                          .integer(now - job.uniqueForMilliseconds)])
                if let id = existing.first?["id"].int {
                    results[index] = .duplicate(id)
                    continue
                }
                let rows = try await tx.query("""
                    INSERT INTO jobs (\(Self.insertColumns)) VALUES (\(placeholders(1, Self.insertWidth)))
                    ON CONFLICT (name, unique_key) WHERE \(Schema.uniqueUnfinished) DO NOTHING RETURNING id
                    """, job.values(state: job.runAt > now ? .scheduled : .available, now: now))
                guard let id = rows.first?["id"].int else {
                    // Another kernel stored it between the check and the insert.
                    let existing = try await tx.query(
                        "SELECT id FROM jobs WHERE name = $1 AND unique_key = $2 AND \(Schema.uniqueUnfinished)",
                        [.text(job.name), .text(key)])
                    results[index] = .duplicate(existing.first?["id"].int ?? 0)
                    continue
                }
                seen[scope] = id
                results[index] = .stored(id)
                try await Self.linkFire(job, id, in: tx)
            }
            // The rest in multi-row statements; ids come back in insertion order.
            for chunk in stride(from: 0, to: plain.count, by: 500) {
                let slice = plain[chunk..<min(chunk + 500, plain.count)]
                var values: [SQLValue] = []
                values.reserveCapacity(slice.count * Self.insertWidth)
                for index in slice {
                    let job = jobs[index]
                    values += job.values(state: job.runAt > now ? .scheduled : .available, now: now)
                }
                let rows = try await tx.query(Self.multiRowInsert(rows: slice.count), values)
                let ids = rows.rows.compactMap { $0["id"].int }.sorted()
                for (index, id) in zip(slice, ids) {
                    results[index] = .stored(id)
                    try await Self.linkFire(jobs[index], id, in: tx)
                }
            }
            return results.map { $0 ?? .failed(PluginError(.internal, "no id returned")) }
        }
    }

    /// The text of an insert of `rows` jobs, made once per row count.
    static func multiRowInsert(rows: Int) -> String {
        if let text = insertTexts.withLock({ $0[rows] }) { return text }
        let groups = (0..<rows).map { "(\(placeholders($0 * insertWidth + 1, insertWidth)))" }
        let text = "INSERT INTO jobs (\(insertColumns)) VALUES \(groups.joined(separator: ",")) RETURNING id"
        insertTexts.withLock { $0[rows] = text }
        return text
    }
    private static let insertTexts = Mutex<[Int: String]>([:])

    private static func linkFire(_ job: NewJob, _ id: Int64, in tx: SQLTransaction) async throws(PluginError) {
        guard let schedule = job.schedule, let fireAt = job.fireAt else { return }
        try await tx.execute("UPDATE fires SET job_id = $1 WHERE schedule = $2 AND fire_at = $3",
                             [.integer(id), .text(schedule), .integer(fireAt)])
    }

    // MARK: Claim

    /// Moves due `scheduled` and `retryable` jobs to `available`; returns how many.
    func stage(now: Int64) async throws(PluginError) -> UInt64 {
        try await sql.execute(
            "UPDATE jobs SET state = 'available' WHERE state IN ('scheduled','retryable') AND run_at <= $1", [.integer(now)])
    }

    /// The earliest time a waiting job becomes due, if any.
    func nextDue() async throws(PluginError) -> Int64? {
        try await sql.query("SELECT MIN(run_at) AS due FROM jobs WHERE state IN ('scheduled','retryable')").first?["due"].int
    }

    /// Finishes `finished` and claims up to `limit` available jobs of
    /// `queue`, in one transaction (one commit for both).
    func finishAndClaim(_ finished: [Finish], queue: String?, limit: Int) async throws -> [ClaimedJob] {
        let now = WallClock.now()
        return try await sql.transaction { tx in
            try await Self.write(finished, now: now, keepCompleted: keepCompleted, in: tx)
            guard let queue, limit > 0 else { return [] }
            let lock = postgres ? " FOR UPDATE SKIP LOCKED" : ""
            let rows = try await tx.query("""
                UPDATE jobs SET state = 'running', attempt = attempt + 1, attempted_at = $1, claimed_by = $2
                WHERE id IN (SELECT id FROM jobs WHERE queue = $3 AND state = 'available'
                             ORDER BY priority, run_at, id LIMIT $4\(lock))
                RETURNING \(ClaimedJob.columns)
                """, [.integer(now), .text(node), .text(queue), .integer(Int64(limit))])
            return rows.rows.map(ClaimedJob.init).sorted { $0.id < $1.id }
        }
    }

    /// Claims one job by id, if it still waits (a prepared fire at its time).
    func claim(id: Int64) async throws(PluginError) -> ClaimedJob? {
        try await sql.query("""
            UPDATE jobs SET state = 'running', attempt = attempt + 1, attempted_at = $1, claimed_by = $2
            WHERE id = $3 AND state IN ('scheduled','available') RETURNING \(ClaimedJob.columns)
            """, [.integer(WallClock.now()), .text(node), .integer(id)]).rows.first.map(ClaimedJob.init)
    }

    /// What happened to a claimed job, written back by `finishAndClaim`.
    enum Finish: Sendable {
        case completed(Int64)
        case retry(Int64, at: Int64, error: AttemptError)
        case discard(Int64, error: AttemptError)
        case cancelled(Int64, error: String)
        /// Back to waiting without spending the attempt (snooze, no handler, shutdown).
        case release(Int64, at: Int64, note: String?)
    }

    static func write(_ finished: [Finish], now: Int64, keepCompleted: Bool, in tx: SQLTransaction) async throws(PluginError) {
        let completed = finished.compactMap { if case .completed(let id) = $0 { id } else { nil } }
        for chunk in stride(from: 0, to: completed.count, by: 500) {
            let ids = completed[chunk..<min(chunk + 500, completed.count)].map { SQLValue.integer($0) }
            if keepCompleted {
                try await tx.execute("""
                    UPDATE jobs SET state = 'completed', finished_at = $1, claimed_by = NULL
                    WHERE id IN (\(placeholders(2, ids.count)))
                    """, [.integer(now)] + ids)
            } else {
                try await tx.execute("DELETE FROM jobs WHERE id IN (\(placeholders(1, ids.count)))", ids)
            }
        }
        for finish in finished {
            switch finish {
            case .completed:
                continue
            case .retry(let id, let at, let error):
                try await tx.execute("""
                    UPDATE jobs SET state = 'retryable', run_at = $1, last_error = $2, errors = errors || $3, claimed_by = NULL
                    WHERE id = $4
                    """, [.integer(at), .text(error.error), .text(error.line), .integer(id)])
            case .discard(let id, let error):
                try await tx.execute("""
                    UPDATE jobs SET state = 'discarded', finished_at = $1, last_error = $2, errors = errors || $3,
                    claimed_by = NULL WHERE id = $4
                    """, [.integer(now), .text(error.error), .text(error.line), .integer(id)])
            case .cancelled(let id, let error):
                try await tx.execute("""
                    UPDATE jobs SET state = 'cancelled', finished_at = $1, last_error = $2, claimed_by = NULL WHERE id = $3
                    """, [.integer(now), .text(error), .integer(id)])
            case .release(let id, let at, let note):
                try await tx.execute("""
                    UPDATE jobs SET state = CASE WHEN $1 > $2 THEN 'scheduled' ELSE 'available' END, run_at = $1,
                    attempt = attempt - 1, last_error = COALESCE($3, last_error), claimed_by = NULL
                    WHERE id = $4 AND state = 'running'
                    """, [.integer(at), .integer(now), .text(note), .integer(id)])
            }
        }
    }

    // MARK: Recovery and retention

    /// Jobs left `running` by a process that is gone: available again, with
    /// the attempt counted (or discarded when it was the last).
    func rescue(claimedBy owners: [String]) async throws(PluginError) -> UInt64 {
        guard !owners.isEmpty else { return 0 }
        let now = WallClock.now()
        let list = placeholders(3, owners.count)
        let note = "interrupted: the kernel running it stopped"
        let discarded = try await sql.execute("""
            UPDATE jobs SET state = 'discarded', finished_at = $1, last_error = $2, claimed_by = NULL
            WHERE state = 'running' AND attempt >= max_attempts AND claimed_by IN (\(list))
            """, [.integer(now), .text(note)] + owners.map { .text($0) })
        let rescued = try await sql.execute("""
            UPDATE jobs SET state = 'available', run_at = $1, last_error = $2, claimed_by = NULL
            WHERE state = 'running' AND claimed_by IN (\(list))
            """, [.integer(now), .text(note)] + owners.map { .text($0) })
        return discarded + rescued
    }

    /// The owners of running jobs that are gone: a process of this host
    /// that no longer runs, or an instance that stopped beating (it stopped,
    /// or its host did) for `staleAfter` milliseconds.
    func abandonedOwners(staleAfter: Int64) async throws(PluginError) -> [String] {
        let owners = try await sql.query(
            "SELECT DISTINCT claimed_by FROM jobs WHERE state = 'running' AND claimed_by IS NOT NULL")
            .rows.compactMap { $0["claimed_by"].string }.filter { $0 != node }
        guard !owners.isEmpty else { return [] }
        var beats: [String: Int64] = [:]
        for row in try await sql.query("SELECT id, heartbeat_at FROM nodes").rows {
            if let id = row["id"].string { beats[id] = row["heartbeat_at"].int ?? 0 }
        }
        let now = WallClock.now()
        return owners.filter { owner in
            ProcessIdentity.isGone(owner) || (beats[owner].map { now - $0 > staleAfter } ?? true)
        }
    }

    /// This instance is alive (written at start and every few seconds).
    func heartbeat() async throws(PluginError) {
        try await sql.execute("""
            INSERT INTO nodes (id, heartbeat_at) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET heartbeat_at = $2
            """, [.text(node), .integer(WallClock.now())])
    }

    /// This instance has stopped: its jobs, if any are left running, are taken over.
    func leave() async throws(PluginError) {
        try await sql.execute("DELETE FROM nodes WHERE id = $1", [.text(node)])
    }

    /// Deletes finished jobs older than their retention.
    func prune(completedBefore: Int64, discardedBefore: Int64) async throws(PluginError) -> UInt64 {
        let completed = try await sql.execute(
            "DELETE FROM jobs WHERE state = 'completed' AND finished_at < $1", [.integer(completedBefore)])
        let discarded = try await sql.execute(
            "DELETE FROM jobs WHERE state IN ('discarded','cancelled') AND finished_at < $1", [.integer(discardedBefore)])
        let fires = try await sql.execute("""
            DELETE FROM fires WHERE fired_at < $1 AND NOT EXISTS (SELECT 1 FROM jobs WHERE jobs.id = fires.job_id)
            """, [.integer(min(completedBefore, discardedBefore))])
        return completed + discarded + fires
    }
}

/// `$first, $first+1, ...`: `count` numbered parameters.
func placeholders(_ first: Int, _ count: Int) -> String {
    (first..<(first + count)).map { "$\($0)" }.joined(separator: ",")
}
