import Synchronization

/// A streaming call in progress: an `AsyncSequence` of the server's items,
/// in order. The sequence ends after the server's `end`; it throws
/// `KernelClientError.call` when the stream fails (`cancelled` after
/// `cancel()`), and `.closed` when the connection goes. Cancelling the task
/// that iterates it cancels the stream on the server too.
///
/// Threading: iterate from one task; `send`, `end`, `cancel` and `result`
/// may be used from any task.
public final class KernelStream: AsyncSequence, Sendable {
    public typealias Element = JSONBody

    private let items: AsyncThrowingStream<JSONBody, Error>
    private let continuation: AsyncThrowingStream<JSONBody, Error>.Continuation
    private let final = Mutex<(outcome: Result<KernelResponse, any Error>?, waiters: [CheckedContinuation<KernelResponse, any Error>])>((nil, []))
    private let control: @Sendable (StreamControl) async throws -> Void

    enum StreamControl: Sendable {
        case item([UInt8])
        case end
        case cancel
    }

    init(control: @escaping @Sendable (StreamControl) async throws -> Void) {
        (items, continuation) = AsyncThrowingStream<JSONBody, Error>.makeStream()
        self.control = control
        // The reader went away before the end: the server should stop too.
        continuation.onTermination = { reason in
            if case .cancelled = reason { Task { try? await control(.cancel) } }
        }
    }

    public func makeAsyncIterator() -> AsyncThrowingStream<JSONBody, Error>.AsyncIterator { items.makeAsyncIterator() }

    /// Sends one item to a bidirectional endpoint (JSON bytes).
    public func send(json item: [UInt8]) async throws { try await control(.item(item)) }

    public func send<Item: Encodable>(_ item: Item) async throws { try await send(json: try KernelClient.encode(item)) }

    /// Tells a bidirectional endpoint the client has no more items.
    public func end() async throws { try await control(.end) }

    /// Asks the server to cancel; the sequence then fails with `cancelled`
    /// (or ends, if the stream had completed already).
    public func cancel() async { try? await control(.cancel) }

    /// The stream's final result (after its items), or its error.
    public var result: KernelResponse {
        get async throws {
            try await withCheckedThrowingContinuation { waiter in
                let ready = final.withLock { state -> Result<KernelResponse, any Error>? in
                    if state.outcome == nil { state.waiters.append(waiter) }
                    return state.outcome
                }
                if let ready { waiter.resume(with: ready) }
            }
        }
    }

    // MARK: From the connection

    func yield(_ item: JSONBody) { continuation.yield(item) }

    func finish(_ outcome: Result<KernelResponse, any Error>) {
        let waiters = final.withLock { state -> [CheckedContinuation<KernelResponse, any Error>] in
            guard state.outcome == nil else { return [] }
            state.outcome = outcome
            defer { state.waiters = [] }
            return state.waiters
        }
        switch outcome {
        case .success: continuation.finish()
        case .failure(let error): continuation.finish(throwing: error)
        }
        for waiter in waiters { waiter.resume(with: outcome) }
    }
}
