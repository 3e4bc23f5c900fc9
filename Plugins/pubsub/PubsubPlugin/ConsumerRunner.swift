import CKernelABI
import KernelSDK
import Synchronization

/// One durable consumer's loop: read after the cursor, deliver, wait for
/// delivery_done, retry with backoff, put aside as dead after max_attempts,
/// store the cursor after each event.
final class ConsumerRunner: Sendable {
    let definition: ConsumerDefinition
    private let store: EventStore
    private let authorizer: Authorizer
    private let kernel: PluginContext
    private let signal = TaskSignal()
    private let task = Mutex<Task<Void, Never>?>(nil)
    private let progress = Mutex<(cursor: UInt64, dead: Int, state: String)>((0, 0, "starting"))

    init(_ definition: ConsumerDefinition, store: EventStore, authorizer: Authorizer, kernel: PluginContext) {
        self.definition = definition
        self.store = store
        self.authorizer = authorizer
        self.kernel = kernel
    }

    var status: (cursor: UInt64, dead: Int, state: String) { progress.withLock { $0 } }

    /// Starts the loop once `previous` (runners of the same name it replaces) have finished.
    func start(after previous: [ConsumerRunner] = []) {
        task.withLock {
            $0 = Task {
                for runner in previous { await runner.finished() }
                await self.run()
            }
        }
    }

    /// Returns when the loop has ended (after stop).
    func finished() async { await task.withLock({ $0 })?.value }
    func stop() { task.withLock { $0?.cancel() } ; signal.fire() }
    func wake() { signal.fire() }

    private func run() async {
        var cursor: UInt64 = 0
        var wait: Duration = .milliseconds(100)
        while true {
            do {
                cursor = try await loadCursor()
                break
            } catch {
                // Storage may be starting or failing over: retry, never give the consumer up.
                kernel.log(.warning, "pubsub: consumer '\(definition.name)' cannot read its cursor (again in \(wait)): \(error)")
                try? await Task.sleep(for: wait)
                if Task.isCancelled { return }
                wait = min(wait * 2, .seconds(30))
            }
        }
        while !Task.isCancelled {
            let events: [StoredEvent]
            do {
                events = try await store.read(after: cursor, limit: 500)
            } catch {
                try? await Task.sleep(for: .seconds(1))
                continue
            }
            if events.isEmpty {
                progress.withLock { $0.state = "idle" }
                await signal.wait(timeout: .seconds(1))
                continue
            }
            progress.withLock { $0.state = "delivering" }
            // The cursor is stored after each delivery, and once per page for the events it skips.
            for event in events {
                if Task.isCancelled { return }
                let matches = definition.pattern.matches(event.topic) && authorizer.allowsConsumer(event)
                if matches {
                    guard await deliver(event) else { return }
                }
                cursor = event.offset
                progress.withLock { $0.cursor = cursor }
                if matches { try? await saveCursor(cursor) }
            }
            try? await saveCursor(cursor)
        }
    }

    /// Delivers until acknowledged or dead; false when stopped meanwhile (the event comes again).
    private func deliver(_ event: StoredEvent) async -> Bool {
        var attempt: UInt32 = 1
        while true {
            let outcome = await Delivery.run(event, attempt: attempt, definition)
            if Task.isCancelled { return false }
            if case .failure(let message) = outcome {
                if attempt >= definition.maxAttempts {
                    progress.withLock { $0.dead += 1 }
                    kernel.log(.error, "pubsub: consumer '\(definition.name)' put event \(event.offset) aside after \(attempt) attempts: \(message)")
                    _ = try? await store.sql.execute("""
                        INSERT INTO dead_events (consumer, event_offset, attempts, error, failed_at) VALUES ($1, $2, $3, $4, $5)
                        ON CONFLICT (consumer, event_offset) DO UPDATE SET attempts = $3, error = $4, failed_at = $5
                        """, [.text(definition.name), .integer(Int64(event.offset)), .integer(Int64(attempt)),
                              .text(message), .integer(WireJSON.now())])
                    return true
                }
                let base = Double(definition.backoffMilliseconds) * Double(1 << min(attempt - 1, 20))
                let wait = min(base, 3_600_000) * Double.random(in: 0.9...1.1)
                try? await Task.sleep(for: .milliseconds(Int64(wait)))
                if Task.isCancelled { return false }
                attempt += 1
                continue
            }
            return true
        }
    }

    private func loadCursor() async throws(PluginError) -> UInt64 {
        let rows = try await store.sql.query("SELECT cursor_offset FROM consumers WHERE name = $1", [.text(definition.name)])
        if let cursor = rows.rows.first?["cursor_offset"].int {
            _ = try await store.sql.execute("UPDATE consumers SET owner = $2, pattern = $3 WHERE name = $1",
                                            [.text(definition.name), .text(definition.owner), .text(definition.pattern.description)])
            return UInt64(cursor)
        }
        let start: UInt64 = switch definition.startAt {
        case -1: 0
        case 0: try await store.bounds()?.head ?? 0
        default: try await store.cursor(at: definition.startAt)
        }
        // Another kernel on the same database may register it at the same time: the first row wins.
        _ = try await store.sql.execute("""
            INSERT INTO consumers (name, pattern, owner, cursor_offset, updated_at) VALUES ($1, $2, $3, $4, $5)
            ON CONFLICT (name) DO NOTHING
            """, [.text(definition.name), .text(definition.pattern.description), .text(definition.owner),
                  .integer(Int64(start)), .integer(WireJSON.now())])
        let stored = try await store.sql.query("SELECT cursor_offset FROM consumers WHERE name = $1", [.text(definition.name)])
        return stored.rows.first?["cursor_offset"].int.map { UInt64($0) } ?? start
    }

    private func saveCursor(_ cursor: UInt64) async throws(PluginError) {
        _ = try await store.sql.execute("UPDATE consumers SET cursor_offset = $2, updated_at = $3 WHERE name = $1",
                                        [.text(definition.name), .integer(Int64(cursor)), .integer(WireJSON.now())])
    }
}
