import Foundation
import Synchronization

/// The handler's side of a streaming call: items go to the caller, in order.
///
/// Backpressure: the transport keeps a bounded queue per stream (`stream_queue`
/// items on ws and tcp). When it is full, `call_send` is refused with
/// `KN_ERR_UNAVAILABLE`; `send` then waits (polling with a growing delay, up to
/// 50 ms) until the queue has room, so a slow client slows the handler down
/// instead of growing memory. `trySend` does not wait.
///
/// Threading: use it from the handler's task (sends must not race each
/// other, or their order is lost). Cancellation (the client cancelled or went
/// away) cancels that task: `send` then throws `CancellationError`.
public struct ServerStream<Item: Encodable>: Sendable {
    /// The call: metadata, headers, protocol.
    public let request: RequestContext

    init(_ request: RequestContext) { self.request = request }

    /// Sends one item; suspends while the caller's queue is full.
    public func send(_ item: Item) async throws {
        let bytes = try encode(item)
        var delay: UInt64 = 1_000_000
        while try !offer(bytes) {
            try await Task.sleep(nanoseconds: delay)
            delay = min(delay * 2, 50_000_000)
        }
    }

    /// Sends one item if the caller's queue has room; false when it is full.
    public func trySend(_ item: Item) throws -> Bool { try offer(try encode(item)) }

    private func encode(_ item: Item) throws -> [UInt8] {
        do {
            return Array(try JSON.encoder.encode(item))
        } catch {
            throw PluginError(.internal, "cannot encode stream item: \(error)")
        }
    }

    private func offer(_ bytes: [UInt8]) throws -> Bool {
        try Task.checkCancellation()
        let status = bytes.withUnsafeBufferPointer {
            request.host.pointee.call_send(request.call, kn_bytes(ptr: $0.baseAddress, len: $0.count))
        }
        switch status {
        case KN_OK: return true
        case KN_ERR_UNAVAILABLE: return false
        case KN_ERR_CANCELLED: throw CancellationError()
        case KN_ERR_INVALID_ARGUMENT:
            throw PluginError(.invalidArgument, "the caller's protocol (\(request.protocolName)) does not stream; use ws or tcp")
        default: throw PluginError(.init(status: status), "cannot send a stream item")
        }
    }
}

/// The items a client sends on a bidirectional stream, decoded, in order.
///
/// The sequence finishes when the client ends its side (`end` on ws/tcp).
/// It throws `CancellationError` when the stream is cancelled, and a
/// `PluginError` (`invalid_argument`) for an item that does not decode.
/// Items the handler has not read yet are buffered up to
/// `PluginContext.maxUnreadItems`; past it the call fails with `unavailable`.
///
/// Threading: iterate it from one task (the handler's).
public struct IncomingItems<Item: Decodable & Sendable>: AsyncSequence, Sendable {
    public typealias Element = Item
    let channel: ItemChannel

    public struct AsyncIterator: AsyncIteratorProtocol {
        var raw: AsyncThrowingStream<[UInt8], Error>.AsyncIterator
        let channel: ItemChannel

        public mutating func next() async throws -> Item? {
            guard let bytes = try await raw.next() else { return nil }
            channel.unread.subtract(1, ordering: .relaxed)
            do {
                return try JSON.decoder.decode(Item.self, from: Data(bytes))
            } catch {
                throw PluginError(.invalidArgument, "invalid stream item: \(JSONErrorText.describe(error))")
            }
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(raw: channel.items.makeAsyncIterator(), channel: channel)
    }
}

/// Per streaming call: the client items on their way to the handler, the
/// handler's task, and whether the call was cancelled. Shared between the
/// transport's thread (items, cancel) and the handler's task.
final class ItemChannel: Sendable {
    let items: AsyncThrowingStream<[UInt8], Error>
    private let continuation: AsyncThrowingStream<[UInt8], Error>.Continuation
    let unread = Atomic<Int>(0)
    private let state = Mutex<(task: Task<Void, Never>?, cancelled: Bool, overflow: PluginError?)>((nil, false, nil))

    init() {
        (items, continuation) = AsyncThrowingStream<[UInt8], Error>.makeStream()
    }

    var isCancelled: Bool { state.withLock { $0.cancelled } }
    /// Set when the call was cancelled because the handler fell behind.
    var overflow: PluginError? { state.withLock { $0.overflow } }

    /// Queues one client item; false when the handler has fallen too far behind.
    func deliver(_ item: [UInt8], limit: Int) -> Bool {
        guard unread.add(1, ordering: .relaxed).newValue <= limit else { return false }
        continuation.yield(item)
        return true
    }

    /// The client ended its side.
    func finish() { continuation.finish() }

    func attach(_ task: Task<Void, Never>) {
        let cancelNow = state.withLock { state in
            state.task = task
            return state.cancelled
        }
        if cancelNow { task.cancel() }
    }

    func cancel(because overflow: PluginError? = nil) {
        let task = state.withLock { state in
            state.cancelled = true
            if state.overflow == nil { state.overflow = overflow }
            return state.task
        }
        continuation.finish(throwing: CancellationError())
        task?.cancel()
    }
}
