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
    private let signal = Signal()

    init(kernel: PluginContext, store: JobStore, dispatcher: Dispatcher, telemetry: Telemetry, fires: PendingFires) {
        self.kernel = kernel
        self.store = store
        self.dispatcher = dispatcher
        self.telemetry = telemetry
        self.fires = fires
        dispatcher.observeFinishes { [weak self] job, outcome in self?.finished(job, outcome) }
    }

    var entries: [Entry] { state.withLock { Array($0.entries.values) }.sorted { $0.definition.name < $1.definition.name } }

    func entry(_ name: String) -> Entry? { state.withLock { $0.entries[name] } }

    func start() { state.withLock { $0.loop = Task { await self.run() } } }

    var currentEntries: [String: Entry] { state.withLock { $0.entries } }

    func setEntries(_ entries: [String: Entry]) {
        state.withLock { $0.entries = entries }
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
            let due = state.withLock { state in
                state.entries.values.filter { $0.definition.enabled && ($0.nextFire ?? .max) <= now }
            }
            for entry in due { await fireDue(entry, now: now) }
            let next = state.withLock { state in
                state.entries.values.filter(\.definition.enabled).compactMap(\.nextFire).min()
            }
            let wait = min(max(0, (next ?? .max / 2) - WallClock.now()), 60_000)
            if wait > 0 { await signal.wait(timeout: .milliseconds(wait)) }
        }
    }

    /// Fires one due entry and plans its next fire; several fires were
    /// missed (the kernel was busy or down): the misfire policy decides.
    private func fireDue(_ entry: Entry, now: Int64) async {
        guard let spec = entry.spec, let first = entry.nextFire else { return }
        var missed: [Int64] = [first]
        var cursor = first
        while missed.count <= entry.definition.misfireLimit + 1, let next = nextFire(spec, entry.zone, after: cursor), next <= now {
            missed.append(next)
            cursor = next
        }
        // Within a second of its time a fire is on time, not missed.
        let late = missed.count > 1 || now - first > 1000
        var toFire = missed
        if late {
            switch entry.definition.misfire {
            case .skip: toFire = []
            case .run_once: toFire = [missed.last!]
            case .run_all: toFire = Array(missed.suffix(entry.definition.misfireLimit))
            }
            let skipped = missed.count - toFire.count
            if skipped > 0 { telemetry.missed(entry.definition.name, job: entry.definition.job, fireAt: missed.last!, reason: "misfire", count: skipped) }
        }
        for fireAt in toFire { await fire(entry.definition.name, at: fireAt) }
        let last = missed.last!
        let upcoming = nextFire(spec, entry.zone, after: max(last, now))
        state.withLock { state in
            state.entries[entry.definition.name]?.lastFire = last
            state.entries[entry.definition.name]?.nextFire = upcoming
        }
        if toFire.isEmpty { try? await recordLastFire(entry.definition.name, last, outcome: "missed", error: nil) }
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
