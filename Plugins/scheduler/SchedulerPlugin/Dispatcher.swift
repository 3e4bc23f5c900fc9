import KernelSDK
import Synchronization

/// Claims available jobs queue by queue, within each queue's concurrency
/// and rate, runs them as kernel calls, and writes their outcomes back in
/// batches: each round trip to storage finishes what ended since the last
/// one and claims the next jobs in one transaction.
final class Dispatcher: Sendable {
    struct State {
        var queues: [String: QueueSettings]
        var limiters: [String: RateLimiter] = [:]
        var running: [Int64: JobCall] = [:]
        var runningPerQueue: [String: Int] = [:]
        var finished: [JobStore.Finish] = []
        var nextStage: Int64 = 0
        var stopping = false
        var loop: Task<Void, Never>?
        /// Attempts that finished before `start` recorded them (inline completion).
        var finishedEarly: Set<Int64> = []
        /// Outcomes taken by the round that is writing them now.
        var writing: [JobStore.Finish] = []
    }

    let store: JobStore
    private let kernel: PluginContext
    private let backoff: Backoff
    private let telemetry: Telemetry
    private let pollMilliseconds: Int64
    let state: Mutex<State>
    let signal = TaskSignal()
    private let idle = TaskSignal()
    /// Told of every finished attempt (the schedules' overlap policies). A
    /// class holds the closure: a closure kept in a Mutex and read back
    /// through its inout access gains a reabstraction thunk on every read.
    private let observer = Mutex<FinishObserver?>(nil)

    init(kernel: PluginContext, store: JobStore, queues: [String: QueueSettings], backoff: Backoff, telemetry: Telemetry,
         pollMilliseconds: Int64) {
        self.kernel = kernel
        self.store = store
        self.backoff = backoff
        self.telemetry = telemetry
        self.pollMilliseconds = pollMilliseconds
        self.state = Mutex(State(queues: queues))
    }

    func observeFinishes(_ body: @escaping @Sendable (ClaimedJob, AttemptOutcome, JobStore.Finish) -> Void) {
        let box = FinishObserver(body)
        observer.withLock { $0 = box }
    }

    func wake() { signal.fire() }

    /// A job stored to run at `at`: staged then, not only at the next poll.
    func noteDue(_ at: Int64) {
        let wakeNow = state.withLock { state -> Bool in
            guard at < state.nextStage else { return false }
            state.nextStage = at
            return true
        }
        if wakeNow { signal.fire() }
    }

    /// Stages at the next round (a plugin was loaded: jobs waiting for a handler may run).
    func stageSoon() {
        state.withLock { $0.nextStage = 0 }
        signal.fire()
    }

    // MARK: Queues

    var queues: [QueueSettings] { state.withLock { Array($0.queues.values) }.sorted { $0.name < $1.name } }

    func queue(_ name: String) -> QueueSettings? { state.withLock { $0.queues[name] } }

    func runningCount(queue: String) -> Int { state.withLock { $0.runningPerQueue[queue] ?? 0 } }

    func update(_ settings: QueueSettings) {
        state.withLock { $0.queues[settings.name] = settings }
        signal.fire()
    }

    // MARK: Running jobs

    /// Cancels a running attempt of job `id` in this process; false if none runs here.
    func cancel(_ id: Int64, reason: String) -> Bool {
        guard let call = state.withLock({ $0.running[id] }) else { return false }
        call.stop(.operator, reason)
        return true
    }

    /// The running jobs that were fired by `schedule`.
    func running(schedule: String) -> [Int64] {
        state.withLock { $0.running.values.filter { $0.job.schedule == schedule }.map(\.job.id) }
    }

    // MARK: The loop

    func start() {
        state.withLock { $0.loop = Task { await self.run() } }
    }

    /// Stops claiming, lets running attempts finish for up to `grace`,
    /// cancels the rest, and writes every outcome back; an attempt still
    /// running after that is released (it will run again, not spending the attempt).
    func stop(grace: Duration) async {
        let loop = state.withLock { state -> Task<Void, Never>? in
            state.stopping = true
            return state.loop
        }
        signal.fire()
        await loop?.value
        let deadline = ContinuousClock.now + grace
        while !state.withLock({ $0.running.isEmpty }) && ContinuousClock.now < deadline {
            await idle.wait(timeout: deadline - ContinuousClock.now)
        }
        let left = state.withLock { Array($0.running.values) }
        if !left.isEmpty {
            for call in left { call.stop(.shutdown, "") }
            let cutoff = ContinuousClock.now + .seconds(1)
            while !state.withLock({ $0.running.isEmpty }) && ContinuousClock.now < cutoff {
                await idle.wait(timeout: cutoff - ContinuousClock.now)
            }
        }
        let now = WallClock.now()
        let finished = state.withLock { state -> [JobStore.Finish] in
            let stuck = state.running.keys.map {
                JobStore.Finish.release($0, at: now, note: "interrupted: the scheduler stopped while it ran")
            }
            state.running = [:]
            defer { state.finished = [] }
            return state.finished + stuck
        }
        if !finished.isEmpty {
            do {
                _ = try await store.finishAndClaim(finished, queue: nil, limit: 0)
            } catch {
                kernel.log(.error, "scheduler: \(finished.count) outcomes not written at stop (their jobs will run again): \(error)")
            }
        }
    }

    func run() async {
        var failures = 0
        while !state.withLock({ $0.stopping }) {
            do {
                let more = try await round()
                failures = 0
                if !more { await signal.wait(timeout: waitTime()) }
            } catch {
                failures += 1
                if failures == 1 || failures % 30 == 0 { kernel.log(.warning, "scheduler: storage round failed: \(error)") }
                // One outcome the database refuses must not hold back the others and every claim.
                if failures >= 3 { await writeOneByOne() }
                await signal.wait(timeout: .milliseconds(min(1000 * failures, 5000)))
            }
        }
    }

    /// One round: stage due jobs, finish, claim and start. True when a queue
    /// had more jobs than it claimed (go again at once).
    private func round() async throws -> Bool {
        let now = WallClock.now()
        let stageNow = state.withLock { state -> Bool in
            guard now >= state.nextStage else { return false }
            state.nextStage = now + pollMilliseconds
            return true
        }
        if stageNow { _ = try await store.stage(now: now) }
        let (finished, plan) = state.withLock { state -> ([JobStore.Finish], [(String, Int)]) in
            let finished = state.finished
            state.finished = []
            state.writing = finished
            var plan: [(String, Int)] = []
            for queue in state.queues.values.sorted(by: { $0.name < $1.name }) where !queue.paused {
                let free = queue.concurrency - (state.runningPerQueue[queue.name] ?? 0)
                let allowed = min(free, state.limiters[queue.name, default: RateLimiter()].available(rate: queue.rate), 1000)
                if allowed > 0 { plan.append((queue.name, allowed)) }
            }
            return (finished, plan)
        }
        var pendingFinish = finished
        var more = false
        defer { state.withLock { $0.writing = [] } }
        // Retries and snoozes written in this round are staged at their time,
        // even when this round staged before writing them.
        defer { for case let .retry(_, at, _) in finished { noteDue(at) } }
        defer { for case let .release(_, at, _) in finished { noteDue(at) } }
        do {
            if plan.isEmpty && !pendingFinish.isEmpty {
                _ = try await store.finishAndClaim(pendingFinish, queue: nil, limit: 0)
                pendingFinish = []
            }
            for (queue, limit) in plan {
                let jobs = try await store.finishAndClaim(pendingFinish, queue: queue, limit: limit)
                pendingFinish = []
                if jobs.count == limit { more = true }
                state.withLock { $0.limiters[queue, default: RateLimiter()].take(jobs.count, rate: $0.queues[queue]?.rate ?? 0) }
                for job in jobs { start(job) }
            }
        } catch {
            if !pendingFinish.isEmpty { state.withLock { $0.finished = pendingFinish + $0.finished } }
            throw error
        }
        return more
    }

    /// Writes the pending outcomes each in a transaction of its own; one
    /// that still fails is logged and dropped (its job is rescued later).
    private func writeOneByOne() async {
        let finished = state.withLock { state -> [JobStore.Finish] in
            defer { state.finished = [] }
            return state.finished
        }
        var kept: [JobStore.Finish] = []
        for finish in finished {
            do {
                _ = try await store.finishAndClaim([finish], queue: nil, limit: 0)
            } catch let error as PluginError where error.code == .unavailable {
                kept.append(finish) // the database is away: keep it for later
            } catch {
                kernel.log(.error, "scheduler: an outcome cannot be written and is dropped (\(finish)): \(error)")
            }
        }
        if !kept.isEmpty { state.withLock { $0.finished = kept + $0.finished } }
    }

    private func waitTime() -> Duration {
        state.withLock { state in
            var wait = max(1, state.nextStage - WallClock.now())
            for queue in state.queues.values where queue.rate > 0 && !queue.paused {
                let limiter = state.limiters[queue.name, default: RateLimiter()]
                let ms = limiter.wait(rate: queue.rate).components.seconds * 1000
                    + limiter.wait(rate: queue.rate).components.attoseconds / 1_000_000_000_000_000
                if ms > 0 { wait = min(wait, ms) }
            }
            return .milliseconds(wait)
        }
    }

    func start(_ job: ClaimedJob, reserved: Bool = false) {
        if !reserved { state.withLock { $0.runningPerQueue[job.queue, default: 0] += 1 } }
        let call = JobCall.start(job, kernel: kernel, started: { telemetry.started(job) }) { [self] call, outcome in
            finished(call.job, outcome, since: call.startedAt)
        }
        guard let call else {
            finished(job, .noHandler, since: .now)
            return
        }
        state.withLock { state in
            // The call may have finished already (inline completion): then it is not running.
            if state.finishedEarly.remove(job.id) == nil { state.running[job.id] = call }
        }
    }

    private func finished(_ job: ClaimedJob, _ outcome: AttemptOutcome, since start: ContinuousClock.Instant) {
        let now = WallClock.now()
        let elapsed = ContinuousClock.now - start
        let error = { (text: String) in AttemptError(attempt: job.attempt, at: WallClock.text(now), error: text.storable) }
        let finish: JobStore.Finish
        var due: Int64?
        switch outcome {
        case .succeeded:
            finish = .completed(job.id)
        case .failed(let text):
            finish = retryOrDiscard(job, error(text), now: now, due: &due)
        case .timedOut(let milliseconds):
            finish = retryOrDiscard(job, error("timed out after \(milliseconds) ms"), now: now, due: &due)
        case .discarded(let text):
            finish = .discard(job.id, error: error(text))
        case .snoozed(let milliseconds):
            due = now + milliseconds
            finish = .release(job.id, at: now + milliseconds, note: nil)
        case .cancelled(let text):
            finish = .cancelled(job.id, error: text.storable)
        case .interrupted:
            finish = .release(job.id, at: now, note: "interrupted: the scheduler stopped while it ran")
        case .noHandler:
            due = now + 1000
            finish = .release(job.id, at: now + 1000, note: "waiting: no handler is registered for job '\(job.name)'")
        }
        let drained = state.withLock { state -> Bool in
            if state.running.removeValue(forKey: job.id) == nil, outcome.startedCall { state.finishedEarly.insert(job.id) }
            state.runningPerQueue[job.queue, default: 1] -= 1
            state.finished.append(finish)
            return state.running.isEmpty
        }
        telemetry.finished(job, outcome, finish: finish, elapsed: elapsed)
        observer.withLock { $0 }?.body(job, outcome, finish)
        if let due { noteDue(due) }
        signal.fire()
        if drained { idle.fire() }
    }

    private func retryOrDiscard(_ job: ClaimedJob, _ error: AttemptError, now: Int64, due: inout Int64?) -> JobStore.Finish {
        guard job.attempt < job.maxAttempts else { return .discard(job.id, error: error) }
        let at = now + backoff.delay(afterAttempt: job.attempt)
        due = at
        return .retry(job.id, at: at, error: error)
    }
}

extension AttemptOutcome {
    /// The attempt ran as a call (and `start` may not have recorded it yet).
    var startedCall: Bool { if case .noHandler = self { false } else { true } }
}

final class FinishObserver: Sendable {
    let body: @Sendable (ClaimedJob, AttemptOutcome, JobStore.Finish) -> Void
    init(_ body: @escaping @Sendable (ClaimedJob, AttemptOutcome, JobStore.Finish) -> Void) { self.body = body }
}
