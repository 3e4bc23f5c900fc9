import CronKit
import Foundation
import KernelSDK
import Synchronization

/// Fires schedules: sleeps until the next fire time, applies the overlap
/// policy, enqueues the fire's job with the unique key (schedule, fire
/// time), and after downtime applies the misfire policy.
final class ScheduleEngine: Sendable {
    struct Entry: Sendable {
        var definition: ScheduleDefinition
        var spec: ScheduleSpec?
        var zone: TimeZone
        var error: String?
        var nextFire: Int64?
        var lastFire: Int64?
        /// queue_one: a fire waiting for the running job to finish.
        var queuedFire: Int64?
        /// A fire that could not be made (no handler yet, storage away) is tried again then.
        var blockedUntil: Int64?
        /// The next fire's job, stored ahead of its time (ScheduleEngine+Prepare.swift).
        var prepared: PreparedFire?
        /// The fire time whose preparation was considered (once each, until a run finishes).
        var prepareChecked: Int64?
        /// The prepared fire's job, claimed just before its time and started at it.
        var preclaimed: ClaimedJob?
        var preclaimTried = false

        /// When the loop must wake for this entry: the fire, or a little before it to claim a prepared job.
        var wakeAt: Int64? {
            guard definition.enabled, let fire = nextFire else { return nil }
            let claimAt = prepared != nil && preclaimed == nil && !preclaimTried ? fire - ScheduleEngine.claimLead : fire
            return max(claimAt, blockedUntil ?? 0)
        }

        func isDue(_ now: Int64) -> Bool {
            definition.enabled && (nextFire ?? .max) <= now && (blockedUntil ?? 0) <= now
        }
    }
    private struct State {
        var entries: [String: Entry] = [:]
        var stopping = false
        var loop: Task<Void, Never>?
    }

    let kernel: PluginContext
    let store: JobStore
    let dispatcher: Dispatcher
    let telemetry: Telemetry
    let fires: PendingFires
    private let state = Mutex(State())
    private let signal = TaskSignal()
    /// One load at a time: the loop's and an operator's.
    let loading = AsyncLock()

    init(kernel: PluginContext, store: JobStore, dispatcher: Dispatcher, telemetry: Telemetry, fires: PendingFires) {
        self.kernel = kernel
        self.store = store
        self.dispatcher = dispatcher
        self.telemetry = telemetry
        self.fires = fires
        dispatcher.observeFinishes { [weak self] job, outcome, finish in self?.finished(job, outcome, finish) }
    }

    var entries: [Entry] { state.withLock { Array($0.entries.values) }.sorted { $0.definition.name < $1.definition.name } }

    func entry(_ name: String) -> Entry? { state.withLock { $0.entries[name] } }

    func start() { state.withLock { $0.loop = Task { await self.run() } } }

    var currentEntries: [String: Entry] { state.withLock { $0.entries } }

    func setEntries(_ entries: [String: Entry]) {
        state.withLock { $0.entries = entries }
        signal.fire()
    }

    /// Records the claimed job of a prepared fire, unless the schedule changed meanwhile.
    func setPreclaimed(_ name: String, _ definition: ScheduleDefinition, _ job: ClaimedJob?) -> Bool {
        state.withLock { state in
            guard state.entries[name]?.definition == definition else { return false }
            state.entries[name]?.preclaimed = job
            state.entries[name]?.preclaimTried = true
            return true
        }
    }

    /// Records a prepared fire's job, unless the schedule changed meanwhile.
    func setPrepared(_ name: String, _ definition: ScheduleDefinition, _ prepared: PreparedFire?, checked: Int64?) -> Bool {
        state.withLock { state in
            guard state.entries[name]?.definition == definition else { return false }
            if let prepared { state.entries[name]?.prepared = prepared }
            if let checked { state.entries[name]?.prepareChecked = checked }
            return true
        }
    }

    /// A run of `name` finished: its next fire may be prepared now.
    func recheckPreparation(_ name: String) {
        state.withLock { $0.entries[name]?.prepareChecked = nil }
        signal.fire()
    }

    /// queue_one: keeps `fireAt` to run when the running job finishes.
    func queue(_ name: String, _ fireAt: Int64) { state.withLock { $0.entries[name]?.queuedFire = fireAt } }

    func takeQueued(_ name: String) -> Int64? {
        state.withLock { state in
            defer { state.entries[name]?.queuedFire = nil }
            return state.entries[name]?.queuedFire
        }
    }

    func stop() async {
        let loop = state.withLock { state -> Task<Void, Never>? in
            state.stopping = true
            return state.loop
        }
        signal.fire()
        await loop?.value
        // Prepared fires claimed for a time that has not come: back to waiting.
        for entry in currentEntries.values { if let job = entry.preclaimed { dispatcher.releaseUnstarted(job) } }
    }

    private let resyncPending = Atomic<Bool>(true)

    /// Reads the declared schedules and the stored ones again (start, and
    /// every `kernel.schedules.changed` or operator change), then catches up.
    func requestResync() {
        resyncPending.store(true, ordering: .releasing)
        signal.fire()
    }

    // MARK: The loop

    private func run() async {
        while !state.withLock({ $0.stopping }) {
            if resyncPending.exchange(false, ordering: .acquiringAndReleasing) {
                do {
                    try await load()
                } catch {
                    kernel.log(.warning, "scheduler: cannot load schedules (retrying): \(error)")
                    resyncPending.store(true, ordering: .releasing)
                    await signal.wait(timeout: .seconds(1))
                    continue
                }
            }
            let now = WallClock.now()
            await preclaimUpcoming(now: now)
            let due = state.withLock { state in state.entries.values.filter { $0.isDue(now) } }
            for entry in due { await fireDue(entry, now: now) }
            await prepareUpcoming(now: WallClock.now())
            let next = state.withLock { state in state.entries.values.compactMap(\.wakeAt).min() }
            let wait = min(max(0, (next ?? .max / 2) - WallClock.now()), 60_000)
            if wait > 0 { await signal.wait(timeout: .milliseconds(wait)) }
        }
    }

    /// Fires one due entry and plans its next fire. Fires missed by more
    /// than a second (the kernel was down or busy) go by the misfire policy:
    /// the latest one, the latest `misfire_limit`, or none. A fire that
    /// cannot be made now is tried again in a second, unchanged: the fire's
    /// row in storage keeps a repeated attempt from running it twice.
    private func fireDue(_ entry: Entry, now: Int64) async {
        guard let spec = entry.spec, let first = entry.nextFire else { return }
        let keep = entry.definition.misfire == .run_all ? max(1, entry.definition.misfireLimit) : 1
        let (count, recent, upcoming) = missedFires(spec, entry.zone, from: first, until: now, keeping: keep)
        guard let latest = recent.last else { return }
        let late = count > 1 || now - first > 1000
        if let prepared = entry.prepared {
            if !late && prepared.fireAt == first {
                await firePrepared(entry, prepared)
                advance(entry, lastFire: first, nextFire: upcoming)
                return
            }
            // Late: the misfire policy decides; the prepared fire is one of the missed (run_all) or withdrawn.
            if entry.definition.misfire != .run_all {
                await withdraw(entry.definition.name, prepared, claimed: entry.preclaimed)
            } else if let job = entry.preclaimed {
                dispatcher.releaseUnstarted(job) // one of the missed fires: it runs by the usual claiming
            }
        }
        var toFire = [latest]
        if late {
            switch entry.definition.misfire {
            case .skip: toFire = []
            case .run_once: toFire = [latest]
            case .run_all: toFire = recent
            }
        }
        // Missed fires run one each (run_all): the overlap policy applies to the first only.
        for (index, fireAt) in toFire.enumerated() {
            if let prepared = entry.prepared, prepared.fireAt == fireAt, entry.definition.misfire == .run_all {
                // Stored before: its job runs now by the usual claiming.
                dispatcher.noteDue(WallClock.now())
                try? await recordLastFire(entry.definition.name, fireAt, outcome: "enqueued", error: nil)
                telemetry.fired(entry.definition.name, job: entry.definition.job, fireAt: fireAt, jobID: prepared.jobID)
                continue
            }
            if case .retry(let reason) = await fire(entry.definition.name, at: fireAt, ignoringOverlap: index > 0) {
                block(entry, until: now + 1000, reason: reason)
                return
            }
        }
        let skipped = count - toFire.count
        if late && skipped > 0 {
            telemetry.missed(entry.definition.name, job: entry.definition.job, fireAt: latest, reason: "misfire", count: skipped)
        }
        advance(entry, lastFire: latest, nextFire: upcoming)
        if toFire.isEmpty { try? await recordLastFire(entry.definition.name, latest, outcome: "missed", error: nil) }
    }

    /// Fires from `first` to `until`: how many, the latest `keeping` of
    /// them, and the next one after `until`. An interval is counted, not
    /// walked, and keeps its phase (fire times stay `first + k·interval`).
    func missedFires(_ spec: ScheduleSpec, _ zone: TimeZone, from first: Int64, until now: Int64, keeping keep: Int)
        -> (count: Int, recent: [Int64], upcoming: Int64?) {
        if case .every(let interval) = spec {
            let step = max(1000, interval.components.seconds * 1000 + interval.components.attoseconds / 1_000_000_000_000_000)
            let k = max(0, (now - first) / step)
            let recent = (max(0, k - Int64(keep) + 1)...k).map { first + $0 * step }
            return (Int(k + 1), recent, first + (k + 1) * step)
        }
        var count = 0
        var recent: [Int64] = []
        var cursor: Int64? = first
        // Bounded: a per-second schedule down for two days is 172,800 steps of about a microsecond.
        while let fire = cursor, fire <= now, count < 2_000_000 {
            count += 1
            recent.append(fire)
            if recent.count > keep { recent.removeFirst(recent.count - keep) }
            cursor = nextFire(spec, zone, after: fire)
        }
        if let fire = cursor, fire <= now { cursor = nextFire(spec, zone, after: now) }
        return (count, recent, cursor)
    }

    /// Records a made fire, unless the schedule changed meanwhile (then the change's timing stands).
    private func advance(_ entry: Entry, lastFire: Int64, nextFire: Int64?) {
        state.withLock { state in
            guard state.entries[entry.definition.name]?.definition == entry.definition else { return }
            state.entries[entry.definition.name]?.lastFire = lastFire
            state.entries[entry.definition.name]?.nextFire = nextFire
            state.entries[entry.definition.name]?.blockedUntil = nil
            state.entries[entry.definition.name]?.prepared = nil
            state.entries[entry.definition.name]?.preclaimed = nil
            state.entries[entry.definition.name]?.preclaimTried = false
        }
    }

    private func block(_ entry: Entry, until: Int64, reason: String) {
        let first = state.withLock { state -> Bool in
            defer { state.entries[entry.definition.name]?.blockedUntil = until }
            return state.entries[entry.definition.name]?.blockedUntil == nil
        }
        if first { kernel.log(.warning, "scheduler: schedule '\(entry.definition.name)' waits: \(reason)") }
    }

    /// A plugin was loaded: fires waiting for a handler are tried at once.
    func unblock() {
        state.withLock { state in
            for name in state.entries.keys where state.entries[name]?.blockedUntil != nil {
                state.entries[name]?.blockedUntil = 0
            }
        }
        signal.fire()
    }

    /// The first fire strictly after `milliseconds`. Asked inside the
    /// repeated hour of a fall-back, cron's answer can lie before the
    /// question (Debian cron and cronsim do so); the search goes on from
    /// that answer until it is later, so a schedule never fires backwards.
    func nextFire(_ spec: ScheduleSpec, _ zone: TimeZone, after milliseconds: Int64) -> Int64? {
        var cursor = milliseconds
        for _ in 0..<16 {
            guard let date = spec.next(after: Date(timeIntervalSince1970: Double(cursor) / 1000), in: zone) else { return nil }
            let fire = Int64((date.timeIntervalSince1970 * 1000).rounded())
            if fire > milliseconds { return fire }
            cursor = fire < cursor ? fire : cursor + 1000
        }
        return nil
    }
}

/// Fires being enqueued by the scheduler itself: `submit` finds the
/// schedule and fire time of a job by its unique key here.
final class PendingFires: Sendable {
    private let fires = Mutex<[String: (schedule: String, fireAt: Int64)]>([:])

    static func key(_ schedule: String, _ fireAt: Int64) -> String { "schedule:\(schedule):\(fireAt)" }

    func add(_ schedule: String, _ fireAt: Int64) { fires.withLock { $0[Self.key(schedule, fireAt)] = (schedule, fireAt) } }
    func remove(_ schedule: String, _ fireAt: Int64) { _ = fires.withLock { $0.removeValue(forKey: Self.key(schedule, fireAt)) } }
    func lookup(_ key: String?) -> (schedule: String, fireAt: Int64)? { key.flatMap { key in fires.withLock { $0[key] } } }
}
