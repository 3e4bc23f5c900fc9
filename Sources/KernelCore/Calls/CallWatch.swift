import Foundation
import Glibc
import Synchronization

/// The kernel's watch over calls in flight: it expires calls past their
/// deadline, lists the calls an unloaded plugin left behind, and reports
/// handlers that hold their caller's thread too long.
///
/// Every dispatched call is in the table until it completes (16 shards, one
/// lock each, so the two I/O threads rarely meet). One thread, started with
/// the kernel, looks every 25 ms.
final class CallWatch: @unchecked Sendable {
    struct Tracked {
        let call: Unmanaged<Call>
        let endpoint: EndpointEntry
        /// Monotonic milliseconds; 0 when the call has no deadline.
        let deadline: Int64
        let timeout: Int64
        let started: Int64
    }

    private static let shardCount = 16
    private final class Shard: Sendable {
        let entries = Mutex<[ObjectIdentifier: Tracked]>([:])
    }
    private let shards = (0..<CallWatch.shardCount).map { _ in Shard() }
    let threads = ThreadWatch.shared
    private let running = Atomic<Bool>(false)
    private let logger: @Sendable (String) -> Void

    init(logger: @escaping @Sendable (String) -> Void) { self.logger = logger }

    private func shard(_ call: Call) -> Int {
        Int(bitPattern: UInt(bitPattern: ObjectIdentifier(call).hashValue) >> 4) % Self.shardCount
    }

    func track(_ call: Call, endpoint: EndpointEntry, timeout: Int64) {
        let now = monotonicMilliseconds()
        let entry = Tracked(call: .passUnretained(call), endpoint: endpoint,
                            deadline: timeout > 0 ? now.addingReportingOverflow(timeout).partialValue.clamped(min: now) : 0,
                            timeout: timeout, started: now)
        shards[shard(call)].entries.withLock { $0[ObjectIdentifier(call)] = entry }
    }

    /// Before the call's dispatch reference goes: the table never holds a freed call.
    func untrack(_ call: Call) {
        _ = shards[shard(call)].entries.withLock { $0.removeValue(forKey: ObjectIdentifier(call)) }
    }

    /// Completes the calls in flight that `plugin` serves or wraps, as
    /// `unavailable`, and says what they were ("slow.wait for 12.0 s"), oldest first.
    func abandon(heldBy plugin: PluginInstance) -> [String] {
        let now = monotonicMilliseconds()
        var found: [(call: Call, endpoint: String, age: Int64)] = []
        for shard in shards {
            shard.entries.withLock { entries in
                for entry in entries.values where entry.call._withUnsafeGuaranteedRef({ $0.isHeld(by: plugin) }) {
                    found.append((entry.call.takeUnretainedValue(), entry.endpoint.name, now - entry.started))
                }
            }
        }
        found.sort { $0.age > $1.age }
        for item in found {
            item.call.expire(KN_ERR_UNAVAILABLE, "plugin \(plugin.name) was stopped before the call finished")
        }
        return found.map { "\($0.endpoint) for \(Double($0.age / 100) / 10) s" }
    }

    /// Expires the calls whose deadline passed: `timeout` to the caller, on_cancel to the handler.
    func expireOverdue() {
        let now = monotonicMilliseconds()
        var overdue: [(call: Call, timeout: Int64)] = []
        for shard in shards {
            shard.entries.withLock { entries in
                for entry in entries.values where entry.deadline != 0 && entry.deadline <= now {
                    // Retained under the lock: the call cannot complete and go meanwhile.
                    overdue.append((entry.call.takeUnretainedValue(), entry.timeout))
                }
            }
        }
        for (call, timeout) in overdue { call.expire(timeout: timeout) }
    }

    func start(blockedAfter milliseconds: Int64) {
        guard !running.exchange(true, ordering: .acquiringAndReleasing) else { return }
        let thread = Thread { [self] in
            while running.load(ordering: .acquiring) {
                usleep(25_000)
                expireOverdue()
                if milliseconds > 0 { for report in threads.blocked(longerThan: milliseconds) { logger(report) } }
            }
        }
        thread.name = "kernel.watch"
        thread.start()
    }

    func stop() { running.store(false, ordering: .releasing) }
}

/// Which endpoint each thread is running a handler of, and since when: a
/// handler that blocks a transport's I/O thread stalls every connection on it.
/// One per process: a thread's slot is found through a thread-specific key.
final class ThreadWatch: @unchecked Sendable {
    static let shared = ThreadWatch()

    final class Slot: @unchecked Sendable {
        struct State {
            var since: Int64 = 0
            var endpoint: EndpointEntry?
            var reported = false
        }
        let state = Mutex(State())
        let ended = Atomic<Bool>(false)
        let threadName: String
        init(threadName: String) { self.threadName = threadName }
    }

    private let slots = Mutex<[ObjectIdentifier: Slot]>([:])
    private let key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key) { pointer in
            // The thread ends: its slot goes with it.
            guard let pointer else { return }
            let slot = Unmanaged<Slot>.fromOpaque(pointer)
            slot.takeUnretainedValue().ended.store(true, ordering: .releasing)
            slot.release()
        }
        return key
    }()

    private func slot() -> Slot {
        if let pointer = pthread_getspecific(key) { return Unmanaged<Slot>.fromOpaque(pointer).takeUnretainedValue() }
        let name = (try? String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines) ?? "?"
        let slot = Slot(threadName: name)
        pthread_setspecific(key, Unmanaged.passRetained(slot).toOpaque())
        slots.withLock { $0[ObjectIdentifier(slot)] = slot }
        return slot
    }

    /// A handler of `endpoint` starts on this thread; returns what `leave` restores (a nested call's caller).
    func enter(_ endpoint: EndpointEntry) -> (Slot, Slot.State) {
        let slot = slot()
        let previous = slot.state.withLock { state in
            defer { state = Slot.State(since: monotonicMilliseconds(), endpoint: endpoint, reported: false) }
            return state
        }
        return (slot, previous)
    }

    func leave(_ entered: (Slot, Slot.State)) {
        entered.0.state.withLock { $0 = entered.1 }
    }

    /// One line per thread held longer than `milliseconds` by the same handler, once per hold.
    func blocked(longerThan milliseconds: Int64) -> [String] {
        let now = monotonicMilliseconds()
        let all = slots.withLock { slots in
            slots = slots.filter { !$0.value.ended.load(ordering: .acquiring) }
            return Array(slots.values)
        }
        return all.compactMap { slot in
            slot.state.withLock { state in
                guard state.since != 0, !state.reported, now - state.since > milliseconds, let endpoint = state.endpoint else { return nil }
                state.reported = true
                return "plugin \(endpoint.owner.name): the handler of '\(endpoint.name)' has held thread '\(slot.threadName)' for "
                    + "\(now - state.since) ms; a handler must return at once and complete the call later, from its own thread"
            }
        }
    }
}

func monotonicMilliseconds() -> Int64 { monotonicMicroseconds() / 1_000 }

extension Int64 {
    /// An overflowed sum is negative: it becomes `min`'s far side, never a deadline in the past.
    fileprivate func clamped(min floor: Int64) -> Int64 { self < floor ? .max : self }
}
