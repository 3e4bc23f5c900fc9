import NIOCore
import Synchronization

/// Sent down a connection's pipeline by `stop`: finish the calls in flight,
/// refuse new ones, then close.
public struct QuiesceEvent: Sendable {
    public init() {}
}

/// Open connections: bounded, and drained on stop.
public final class ConnectionSet: Sendable {
    private let channels = Mutex<[ObjectIdentifier: Channel]>([:])

    public init() {}

    public var count: Int { channels.withLock { $0.count } }

    /// Adds `channel` unless the set is full; removes it again when it closes.
    public func admit(_ channel: Channel, limit: Int) -> Bool {
        let admitted = channels.withLock { channels in
            guard channels.count < limit else { return false }
            channels[ObjectIdentifier(channel)] = channel
            return true
        }
        if admitted {
            channel.closeFuture.whenComplete { _ in
                _ = self.channels.withLock { $0.removeValue(forKey: ObjectIdentifier(channel)) }
            }
        }
        return admitted
    }

    public func quiesceAll() {
        for channel in channels.withLock({ Array($0.values) }) {
            channel.pipeline.fireUserInboundEventTriggered(QuiesceEvent())
        }
    }

    public func closeAll() {
        for channel in channels.withLock({ Array($0.values) }) { channel.close(promise: nil) }
    }
}

/// Whether the server is still running: completions that arrive after its
/// event loops shut down are dropped instead of scheduled on a dead loop.
public final class ServerLife: Sendable {
    private let running = Atomic<Bool>(true)
    public init() {}
    public var isRunning: Bool { running.load(ordering: .acquiring) }
    public func end() { running.store(false, ordering: .releasing) }
}

/// The running server of a plugin, set in `start` and taken in `stop`.
public final class ServerSlot: Sendable {
    private let server = Mutex<EnvelopeServer?>(nil)
    public init() {}
    public func set(_ server: EnvelopeServer) { self.server.withLock { $0 = server } }
    public func take() -> EnvelopeServer? {
        server.withLock { server in
            defer { server = nil }
            return server
        }
    }
}
