import KernelSDK

/// Prepared fires: the next fire's job is stored up to a minute ahead (as
/// `scheduled`, at the fire time), so that at the fire time one claim of
/// that job by id starts it: no insert and no second round trip stand
/// between the clock and the handler. A schedule whose overlap policy needs
/// the state at the fire time (queue_one, replace), or whose last run has
/// not finished, is fired at its time as usual.
struct PreparedFire: Sendable, Equatable {
    var fireAt: Int64
    var jobID: Int64
}

extension ScheduleEngine {
    /// How far ahead a fire is prepared.
    static let preparationWindow: Int64 = 60_000
    /// How long before its time a prepared fire's job is claimed (its attempt
    /// counted, a slot of its queue taken), so that at the time only the
    /// start remains: the commit's fsync is paid before, not after.
    static let claimLead: Int64 = 100

    func preclaimUpcoming(now: Int64) async {
        for entry in currentEntries.values {
            guard entry.definition.enabled, let prepared = entry.prepared, entry.preclaimed == nil, !entry.preclaimTried,
                  entry.definition.jitterMilliseconds == 0, prepared.fireAt == entry.nextFire,
                  prepared.fireAt - now <= Self.claimLead else { continue }
            let job = await dispatcher.reserveAndClaim(prepared.jobID, queue: entry.definition.queue)
            if !setPreclaimed(entry.definition.name, entry.definition, job), let job {
                dispatcher.releaseUnstarted(job) // changed meanwhile: back to waiting
            }
        }
    }

    func prepareUpcoming(now: Int64) async {
        for entry in currentEntries.values {
            guard entry.definition.enabled, entry.spec != nil, entry.error == nil, entry.blockedUntil == nil,
                  entry.prepared == nil, let fireAt = entry.nextFire, fireAt > now + 5,
                  fireAt - now <= Self.preparationWindow, entry.prepareChecked != fireAt,
                  entry.definition.overlap == .allow || entry.definition.overlap == .skip else { continue }
            await prepare(entry, fireAt)
        }
    }

    private func prepare(_ entry: Entry, _ fireAt: Int64) async {
        let definition = entry.definition
        guard setPrepared(definition.name, definition, nil, checked: fireAt) else { return }
        do {
            if definition.overlap == .skip {
                // A run that ended here but is not written yet counts as finished.
                let ended = dispatcher.endedUnwritten
                let unfinished = try await sql.query(
                    "SELECT id FROM jobs WHERE schedule = $1 AND state IN \(JobState.unfinishedSQL)",
                    [.text(definition.name)]).rows.compactMap { $0["id"].int }.filter { !ended.contains($0) }
                guard unfinished.isEmpty else { return } // decided at the fire time, once the run has finished or not
            }
            guard OperatorEndpoints.jobIsRegistered(definition.job, kernel),
                  let id = try await storeFire(definition, fireAt) else { return }
            let prepared = PreparedFire(fireAt: fireAt, jobID: id)
            // Changed while it was stored: the new timing stands, this job goes.
            if !setPrepared(definition.name, definition, prepared, checked: nil) { await withdraw(definition.name, prepared) }
        } catch {
            kernel.log(.debug, "scheduler: cannot prepare '\(definition.name)' (fired at its time instead): \(error)")
        }
    }

    /// At its time: a skip schedule whose run started meanwhile skips it;
    /// otherwise the job is claimed and started at once (or, its queue being
    /// full, runs when a slot frees).
    func firePrepared(_ entry: Entry, _ prepared: PreparedFire) async {
        let definition = entry.definition
        if definition.overlap == .skip, dispatcher.running(schedule: definition.name).contains(where: { $0 != prepared.jobID }) {
            await withdraw(definition.name, prepared, claimed: entry.preclaimed)
            try? await skip(definition, prepared.fireAt, reason: "overlap: the previous run has not finished")
            return
        }
        let started: Bool
        if let job = entry.preclaimed {
            dispatcher.startReserved(job)
            started = true
        } else {
            started = definition.jitterMilliseconds == 0 ? await dispatcher.claimAndStart(prepared.jobID, queue: definition.queue) : false
        }
        if !started {
            // Its queue is full or paused (or it waits for its jitter): it runs by the usual staging.
            dispatcher.noteDue(prepared.fireAt + definition.jitterMilliseconds)
        }
        try? await recordLastFire(definition.name, prepared.fireAt, outcome: "enqueued", error: nil)
        telemetry.fired(definition.name, job: definition.job, fireAt: prepared.fireAt, jobID: prepared.jobID)
    }

    /// Takes a prepared fire back (the schedule changed, or the fire is
    /// missed): its job is cancelled if it has not started, and its row lets
    /// the fire be made again.
    func withdraw(_ name: String, _ prepared: PreparedFire, claimed: ClaimedJob? = nil) async {
        if let claimed { dispatcher.cancelUnstarted(claimed, reason: "withdrawn: its schedule changed or missed it") }
        do {
            let cancelled = try await sql.execute("""
                UPDATE jobs SET state = 'cancelled', finished_at = $1, last_error = 'withdrawn: its schedule changed or missed it'
                WHERE id = $2 AND state IN ('scheduled','available')
                """, [.integer(WallClock.now()), .integer(prepared.jobID)])
            if cancelled > 0 || claimed != nil {
                try await sql.execute("""
                    UPDATE fires SET outcome = 'withdrawn', job_id = NULL WHERE schedule = $1 AND fire_at = $2 AND job_id = $3
                    """, [.text(name), .integer(prepared.fireAt), .integer(prepared.jobID)])
            }
        } catch {
            kernel.log(.warning, "scheduler: cannot withdraw the prepared fire of '\(name)': \(error)")
        }
    }
}
