import Synchronization

/// Whether a server still runs: completions that arrive after its event
/// loops shut down are dropped instead of scheduled on a dead loop.
///
/// ```swift
/// override func completed(_ outcome: CallOutcome) {
///     guard life.isRunning else { return }
///     loop.execute { self.handler.value.finish(outcome) }
/// }
/// ```
public final class ServerLife: Sendable {
    private let running = Atomic<Bool>(true)
    init() {}
    public var isRunning: Bool { running.load(ordering: .acquiring) }
    func end() { running.store(false, ordering: .releasing) }
}
