import CKernelABI
import Synchronization

/// An endpoint or job whose handler runs as a task, one per call: async
/// unary endpoints, jobs and streams. It routes the kernel's callbacks for a
/// call (client items, "ready to send", cancel) to that call's task.
///
/// Calls are looked up by their handle under a lock, so a callback that
/// races the end of a call finds nothing instead of freed state. Only the
/// task completes the call, so the handle stays valid while it runs.
final class TaskEndpoint: @unchecked Sendable {
    private let host: UnsafePointer<kn_host_api>
    /// The kernel has `call_ready` (read once: it is the same table for the process).
    private let hostHasCallReady: Bool
    private let takesItems: Bool
    private let run: @Sendable (RequestContext, CallTask) async throws -> Reply
    private let calls = Mutex<[Int: CallTask]>([:])

    /// `run` returns the call's result; an error it throws becomes the
    /// call's failure. The endpoint completes the call, once `run` is done
    /// and the call is forgotten. `takesItems`: client items reach `CallTask.items`.
    init(host: UnsafePointer<kn_host_api>, takesItems: Bool = false,
         _ run: @escaping @Sendable (RequestContext, CallTask) async throws -> Reply) {
        self.host = host
        self.hostHasCallReady = PluginContext.table(host, has: \.call_ready)
        self.takesItems = takesItems
        self.run = run
    }

    convenience init(host: UnsafePointer<kn_host_api>, _ run: @escaping @Sendable (RequestContext) async throws -> Reply) {
        self.init(host: host) { request, _ in try await run(request) }
    }

    static func from(_ pointer: UnsafeMutableRawPointer?) -> TaskEndpoint {
        Unmanaged<TaskEndpoint>.fromOpaque(pointer!).takeUnretainedValue()
    }

    /// The kernel's handler call (caller's thread): starts the task.
    func begin(_ call: OpaquePointer) {
        let request = RequestContext(host: host, call: call)
        let state = CallTask(takesItems: takesItems, canWaitForReady: hostHasCallReady)
        let key = Int(bitPattern: call)
        calls.withLock { $0[key] = state }
        let requestID = request.meta("request.id")
        let task = Task { [self] in
            let outcome: Result<Reply, any Error>
            do {
                outcome = .success(try await RequestScope.$requestID.withValue(requestID) { try await run(request, state) })
            } catch {
                outcome = .failure(error)
            }
            // Forget the call before completing it: after completion its handle
            // (the key) may be reused by a new call, whose entry must stay.
            calls.withLock { calls in
                if calls[key] === state { calls.removeValue(forKey: key) }
            }
            if let overflow = state.overflow {
                request.fail(overflow)
            } else {
                switch outcome {
                case .success(let reply): request.respond(reply.bytes, contentType: reply.contentType)
                case .failure(let failure): request.fail(state.isCancelled ? PluginError(.cancelled, "call cancelled") : failure)
                }
            }
        }
        state.attach(task)
    }

    /// A client item (transport's thread, in order). An empty item is the
    /// client's end of input.
    func receive(_ item: kn_bytes, for call: OpaquePointer) {
        guard let state = calls.withLock({ $0[Int(bitPattern: call)] }) else { return }
        guard item.ptr != nil, item.len > 0 else {
            state.finishItems()
            return
        }
        if !state.deliver(item.copiedBytes, limit: PluginContext.maxUnreadItems) {
            state.cancel(because: PluginError(.unavailable,
                                              "more than \(PluginContext.maxUnreadItems) client items unread by the handler"))
        }
    }

    /// The consumer has room again after a refused send.
    func ready(_ call: OpaquePointer) {
        calls.withLock { $0[Int(bitPattern: call)] }?.ready()
    }

    func cancel(_ call: OpaquePointer) {
        calls.withLock { $0[Int(bitPattern: call)] }?.cancel()
    }
}

/// A call's result, made by the handler's task and sent once the call is forgotten.
struct Reply: Sendable {
    var bytes: [UInt8]
    var contentType: String

    /// `{}`: the result of a stream or a job.
    static let empty = Reply(bytes: Array("{}".utf8), contentType: "application/json")

    /// A handler's response: as is for a `RawResponse`, otherwise JSON.
    static func encoding<T: Encodable>(_ value: T) throws(PluginError) -> Reply {
        if let raw = value as? RawResponse { return Reply(bytes: raw.bytes, contentType: raw.contentType) }
        return Reply(bytes: try JSON.encode(value, what: "response"), contentType: "application/json")
    }
}

/// One call's task and what reaches it from other threads: cancellation,
/// client items (bidirectional streams), and "ready to send" signals.
final class CallTask: Sendable {
    private struct State {
        var task: Task<Void, Never>?
        var cancelled = false
        var overflow: PluginError?
        /// Counts ready signals: a sender that saw generation g and was
        /// refused waits until the count passes g, so no signal is lost.
        var readyGeneration: UInt64 = 0
        var readyWaiter: CheckedContinuation<Void, Never>?
    }

    private let state = Mutex(State())
    let items: AsyncThrowingStream<[UInt8], Error>?
    private let itemsContinuation: AsyncThrowingStream<[UInt8], Error>.Continuation?
    let unread = Atomic<Int>(0)
    /// False on a kernel without `call_ready` (ABI 1.0): senders then retry on a timer.
    let canWaitForReady: Bool

    init(takesItems: Bool, canWaitForReady: Bool) {
        if takesItems {
            let (stream, continuation) = AsyncThrowingStream<[UInt8], Error>.makeStream()
            items = stream
            itemsContinuation = continuation
        } else {
            items = nil
            itemsContinuation = nil
        }
        self.canWaitForReady = canWaitForReady
    }

    var isCancelled: Bool { state.withLock { $0.cancelled } }
    /// Set when the call was cancelled because the handler fell behind its client's items.
    var overflow: PluginError? { state.withLock { $0.overflow } }
    var readyGeneration: UInt64 { state.withLock { $0.readyGeneration } }

    func attach(_ task: Task<Void, Never>) {
        let cancelNow = state.withLock { state in
            state.task = task
            return state.cancelled
        }
        if cancelNow { task.cancel() }
    }

    // MARK: Items

    /// Queues one client item; false when the handler has fallen too far behind.
    func deliver(_ item: [UInt8], limit: Int) -> Bool {
        guard let itemsContinuation else { return true }
        guard unread.add(1, ordering: .relaxed).newValue <= limit else { return false }
        itemsContinuation.yield(item)
        return true
    }

    func finishItems() { itemsContinuation?.finish() }

    // MARK: Ready to send

    func ready() {
        let waiter = state.withLock { state in
            state.readyGeneration &+= 1
            defer { state.readyWaiter = nil }
            return state.readyWaiter
        }
        waiter?.resume()
    }

    /// Suspends until a ready signal newer than `generation`, or until the
    /// call or the task is cancelled.
    func waitForReady(after generation: UInt64) async {
        guard canWaitForReady else {
            // A 1.0 kernel never signals: retry soon.
            try? await Task.sleep(for: .milliseconds(2))
            return
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { state -> Bool in
                    if state.readyGeneration != generation || state.cancelled || Task.isCancelled { return true }
                    state.readyWaiter = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            ready()
        }
    }

    // MARK: Cancellation

    func cancel(because overflow: PluginError? = nil) {
        let (task, waiter) = state.withLock { state in
            state.cancelled = true
            if state.overflow == nil { state.overflow = overflow }
            defer { state.readyWaiter = nil }
            return (state.task, state.readyWaiter)
        }
        itemsContinuation?.finish(throwing: CancellationError())
        task?.cancel()
        waiter?.resume()
    }
}
