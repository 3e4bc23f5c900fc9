import NIOCore
import Synchronization

/// The messages of one subscription connection, waiting for the reader.
/// Bounded: past `highWater` the connection stops reading from the socket
/// (TCP flow control then holds the server, whose overflow rule decides),
/// and reads again once the reader took it down to `lowWater`. Memory stays
/// bounded however slow the reader.
///
/// Thread-safe: the connection's event loop pushes, one task takes.
final class SubscriptionInbox: Sendable {
    /// One message as the connection read it; the subscription parses it.
    enum Frame: Sendable {
        /// An envelope message (ws, tcp).
        case envelope(ByteBuffer)
        /// A Server-Sent Event: its `event:` name (`message` when none) and `data:`.
        case serverSent(event: String, data: [UInt8])
        /// An HTTP answer that is not an event stream: its status and body.
        case refused(status: Int, body: [UInt8])
    }

    enum Next: Sendable {
        case frame(Frame)
        /// The connection is gone (and every frame before it taken).
        case closed(String)
        /// The reading task was cancelled.
        case cancelled
    }

    private struct State {
        var frames = CircularBuffer<Frame>()
        var closed: String?
        var waiter: CheckedContinuation<Next, Never>?
        var cancelled = false
        var paused = false
        var channel: Channel?
    }

    private let state = Mutex(State())
    private let highWater: Int
    private let lowWater: Int

    init(highWater: Int = 256) {
        self.highWater = max(2, highWater)
        self.lowWater = max(1, highWater / 4)
    }

    // MARK: The connection's side (its event loop)

    /// The channel to pause and resume; set once its pipeline is built.
    func attach(_ channel: Channel) { state.withLock { $0.channel = channel } }

    /// Queues `frame` for the reader; false when the reader is gone (the frame is dropped).
    @discardableResult
    func push(_ frame: Frame) -> Bool {
        let (accepted, waiter, pause) = state.withLock { state -> (Bool, CheckedContinuation<Next, Never>?, Channel?) in
            guard state.closed == nil else { return (false, nil, nil) }
            if let waiter = state.waiter {
                state.waiter = nil
                return (true, waiter, nil)
            }
            state.frames.append(frame)
            guard !state.paused, state.frames.count >= highWater else { return (true, nil, nil) }
            state.paused = true
            return (true, nil, state.channel)
        }
        waiter?.resume(returning: .frame(frame))
        // On the event loop already: the option is set before any later resume runs there.
        pause?.setOption(ChannelOptions.autoRead, value: false).whenFailure { _ in }
        return accepted
    }

    /// No more frames; the reader gets the ones queued first.
    func close(_ reason: String) {
        let waiter = state.withLock { state -> CheckedContinuation<Next, Never>? in
            guard state.closed == nil else { return nil }
            state.closed = reason
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(returning: .closed(reason))
    }

    // MARK: The reader's side (one task)

    /// The next frame; `.cancelled` as soon as the calling task is cancelled.
    func next() async -> Next {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Next, Never>) in
                let (ready, resume) = state.withLock { state -> (Next?, Channel?) in
                    if state.cancelled { return (.cancelled, nil) }
                    if let frame = state.frames.popFirst() {
                        guard state.paused, state.frames.count <= lowWater else { return (.frame(frame), nil) }
                        state.paused = false
                        return (.frame(frame), state.channel)
                    }
                    if let closed = state.closed { return (.closed(closed), nil) }
                    state.waiter = continuation
                    return (nil, nil)
                }
                resume?.setOption(ChannelOptions.autoRead, value: true).whenFailure { _ in }
                if let ready { continuation.resume(returning: ready) }
            }
        } onCancel: {
            let waiter = state.withLock { state -> CheckedContinuation<Next, Never>? in
                state.cancelled = true
                defer { state.waiter = nil }
                return state.waiter
            }
            waiter?.resume(returning: .cancelled)
        }
    }

    /// The reader left (or is told to stop waiting): frames still coming are
    /// dropped, and the socket reads on, towards the server's last word.
    func abandon() {
        let (waiter, resume) = state.withLock { state -> (CheckedContinuation<Next, Never>?, Channel?) in
            state.frames.removeAll()
            state.closed = state.closed ?? "the subscription ended"
            defer {
                state.paused = false
                state.waiter = nil
            }
            return (state.waiter, state.paused ? state.channel : nil)
        }
        waiter?.resume(returning: .closed("the subscription ended"))
        resume?.setOption(ChannelOptions.autoRead, value: true).whenFailure { _ in }
    }
}
