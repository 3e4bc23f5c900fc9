import NIOCore
import Synchronization

/// Sent down each connection's pipeline when its server stops: finish what
/// is in flight, take nothing new, then close.
///
/// ```swift
/// func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
///     if event is QuiesceEvent { draining = true; closeIfIdle() } else { context.fireUserInboundEventTriggered(event) }
/// }
/// ```
public struct QuiesceEvent: Sendable {
    public init() {}
}

/// A server's open connections: bounded, quiesced and drained on stop.
/// The drain is told by the last connection's close, never by polling.
///
/// Any thread.
final class ConnectionSet: Sendable {
    private struct State {
        var channels: [ObjectIdentifier: Channel] = [:]
        var emptied: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())

    var count: Int { state.withLock { $0.channels.count } }

    /// Adds `channel` unless `limit` connections are open; it leaves the set when it closes.
    func admit(_ channel: Channel, limit: Int) -> Bool {
        let admitted = state.withLock { state in
            guard state.channels.count < limit else { return false }
            state.channels[ObjectIdentifier(channel)] = channel
            return true
        }
        if admitted { channel.closeFuture.whenComplete { _ in self.remove(channel) } }
        return admitted
    }

    private func remove(_ channel: Channel) {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.channels.removeValue(forKey: ObjectIdentifier(channel))
            guard state.channels.isEmpty else { return [] }
            defer { state.emptied = [] }
            return state.emptied
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Returns once no connection is open.
    func waitUntilEmpty() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let empty = state.withLock { state in
                if state.channels.isEmpty { return true }
                state.emptied.append(continuation)
                return false
            }
            if empty { continuation.resume() }
        }
    }

    func quiesceAll() {
        for channel in state.withLock({ Array($0.channels.values) }) {
            channel.pipeline.fireUserInboundEventTriggered(QuiesceEvent())
        }
    }

    func closeAll() {
        for channel in state.withLock({ Array($0.channels.values) }) { channel.close(promise: nil) }
    }
}
