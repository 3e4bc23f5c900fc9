import Foundation
import KernelSDK
import Synchronization

/// The write path: kept topics are group-committed, then every event goes
/// to the hub in commit order; other topics go to the hub at once, with
/// offset 0. Any thread.
final class EventLog: Sendable {
    let settings: PubsubSettings
    let store: EventStore
    let hub: Hub
    private let writer: GroupCommit<NewEvent, Result<UInt64, PluginError>>

    init(settings: PubsubSettings, store: EventStore, hub: Hub) {
        self.settings = settings
        self.store = store
        self.hub = hub
        writer = GroupCommit(batchLimit: 5_000) { events in
            do {
                let offsets = try await store.append(events)
                if !hub.isIdle { hub.publish(zip(events, offsets).map { $0.stored(at: $1) }) }
                return offsets.map { .success($0) }
            } catch {
                let failure = PluginError(.unavailable, "the event could not be stored: \(PluginError(error).message)")
                return events.map { _ in .failure(failure) }
            }
        }
    }

    /// Publishes `event`; `done` gets its offset (0: not kept) or why it failed.
    func publish(_ event: NewEvent, _ done: @escaping @Sendable (Result<UInt64, PluginError>) -> Void) {
        guard event.payload.count <= settings.maxPayloadBytes else {
            return done(.failure(PluginError(.tooLarge, "the payload is over \(settings.maxPayloadBytes) bytes")))
        }
        guard settings.keeps(event.topic) else {
            hub.publish([event.stored(at: 0)])
            return done(.success(0))
        }
        writer.add(event, done)
    }

    /// A UUID-shaped id: 64 random bits drawn once per process, then a
    /// counter. Unique without a random draw and a formatter per event.
    static func newID() -> String {
        let counter = nextID.add(1, ordering: .relaxed).oldValue
        var bytes: [UInt8] = []
        bytes.reserveCapacity(36)
        let hex = Array("0123456789abcdef".utf8)
        for (index, value) in [(idPrefix, 16), (counter, 16)].enumerated() {
            for nibble in 0..<value.1 {
                let position = index * 16 + nibble
                if position == 8 || position == 12 || position == 16 || position == 20 { bytes.append(UInt8(ascii: "-")) }
                bytes.append(hex[Int((value.0 >> UInt64(60 - 4 * nibble)) & 0xF)])
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static let idPrefix = UInt64.random(in: .min ... .max)
    private static let nextID = Atomic<UInt64>(1)
}
