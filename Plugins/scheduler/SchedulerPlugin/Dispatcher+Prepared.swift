import KernelSDK

/// What the schedule engine asks of the dispatcher for prepared fires:
/// claim one job by id into a slot ahead of its time, start it at the time,
/// or give it back; and which ended jobs are not written yet.
extension Dispatcher {
    /// Claims job `id` and starts it now, when its queue has a free slot
    /// (a prepared fire at its time); false otherwise, and the job runs by
    /// the usual staging and claiming.
    func claimAndStart(_ id: Int64, queue: String) async -> Bool {
        guard let job = await reserveAndClaim(id, queue: queue) else { return false }
        start(job, reserved: true)
        return true
    }

    /// Takes a slot of `queue` and claims job `id` into it; nil (and no
    /// slot taken) when the queue is full, paused or limited, or the job
    /// does not wait any more. Start it with `startReserved`, or give it
    /// back with `releaseUnstarted` / `cancelUnstarted`.
    func reserveAndClaim(_ id: Int64, queue: String) async -> ClaimedJob? {
        let reserved = state.withLock { state -> Bool in
            guard let settings = state.queues[queue], !settings.paused, !state.stopping,
                  settings.concurrency > (state.runningPerQueue[queue] ?? 0),
                  state.limiters[queue, default: RateLimiter()].available(rate: settings.rate) > 0 else { return false }
            state.runningPerQueue[queue, default: 0] += 1
            state.limiters[queue, default: RateLimiter()].take(1, rate: settings.rate)
            return true
        }
        guard reserved else { return nil }
        guard let job = try? await store.claim(id: id) else {
            state.withLock { $0.runningPerQueue[queue, default: 1] -= 1 }
            return nil
        }
        return job
    }

    func startReserved(_ job: ClaimedJob) { start(job, reserved: true) }

    /// A claimed job that will not start now: back to waiting, its attempt not spent.
    func releaseUnstarted(_ job: ClaimedJob) {
        unstarted(job, .release(job.id, at: WallClock.now(), note: nil))
    }

    /// A claimed job that will not start at all (its fire is skipped).
    func cancelUnstarted(_ job: ClaimedJob, reason: String) {
        unstarted(job, .cancelled(job.id, error: reason))
    }

    private func unstarted(_ job: ClaimedJob, _ finish: JobStore.Finish) {
        state.withLock { state in
            state.runningPerQueue[job.queue, default: 1] -= 1
            state.finished.append(finish)
        }
        signal.fire()
    }

    /// Jobs that ended for good here but whose outcome is not written yet.
    var endedUnwritten: Set<Int64> {
        state.withLock { state in
            Set((state.finished + state.writing).compactMap { finish -> Int64? in
                switch finish {
                case .completed(let id), .discard(let id, _), .cancelled(let id, _): id
                case .retry, .release: nil
                }
            })
        }
    }
}
