import CKernelABI
import Dispatch
import Glibc
import Synchronization

/// One call of an endpoint or a job: the request, its way through the
/// middleware chain to the handler, and its single completion.
///
/// A `kn_call *` is this object, unretained. References: the starter holds
/// one from `call_new` until `call_release`; dispatch takes one more that the
/// completion gives back, so a handler's pointer stays valid until it
/// completes the call. Request fields are written by the starter before
/// dispatch and by middleware in turn, never concurrently (the ABI says so).
final class Call: @unchecked Sendable {
    let kernel: Kernel
    let protocolName: OwnedBuffer
    /// The endpoint or job targeted; resolved at dispatch, when the owner
    /// starts counting the call in flight (so a drain never misses it).
    private var targetName: String?
    private var targetIsJob = false
    /// The name as a C string, made when a plugin asks before dispatch.
    private var targetNameBuffer: OwnedBuffer?
    private(set) var body = OwnedBuffer.empty
    private(set) var contentType = OwnedBuffer.empty
    private var meta: [String: OwnedBuffer] = [:]
    private var responseMeta: [(key: OwnedBuffer, value: OwnedBuffer)] = []
    var user: UnsafeMutableRawPointer?

    /// The failure error handlers are revising, while they run (ABI 1.4).
    var failureRevision: FailureRevision?

    private(set) var running: ResolvedEndpoint?
    /// The limits that counted this call in (released at completion).
    var admittedPolicy: CallLimits.Policy?
    /// The kernel completing the call for its holder (`expire`): the holder
    /// keeps the handle, the in-flight counts and the limits' slots until its
    /// own completion attempt (or `next`). `LateHold` values.
    let lateHold = Atomic<Int>(LateHold.none)
    /// Holder threads inside `send`: the kernel's completion waits them out
    /// (the starter may free its side in on_complete).
    let sending = Atomic<Int>(0)
    private var stage = 0
    private var callbacks = kn_call_callbacks()
    private var observers: [(function: kn_complete_fn, userData: UnsafeMutableRawPointer?)] = []
    private(set) var dispatched = false
    /// "call.preflight" (1.4): the middleware runs, the handler never does.
    private var isPreflight = false
    let completed = Atomic<Bool>(false)
    let cancelled = Atomic<Bool>(false)
    /// Set once the handler has been called: only then do on_item and
    /// on_cancel reach it (a middleware may still hold the call before).
    let handlerReached = Atomic<Bool>(false)
    /// Set just before the handler is called (a cancelled call may reach and still never run it).
    let handlerCalled = Atomic<Bool>(false)
    /// The starter ended the client's items before the handler had the call:
    /// the end is delivered as soon as it has.
    private let endPending = Atomic<Bool>(false)

    /// The starter calls `call_ready` after refusing an item (ABI 1.1);
    /// for an older one the kernel signals the handler itself.
    private let starterSignalsReady: Bool

    init(kernel: Kernel, protocolName: OwnedBuffer, starterSignalsReady: Bool = true) {
        self.kernel = kernel
        self.protocolName = protocolName
        self.starterSignalsReady = starterSignalsReady
    }

    convenience init(kernel: Kernel, protocolName: String) {
        self.init(kernel: kernel, protocolName: ProtocolNames.buffer(for: protocolName))
    }

    // MARK: Request

    func setEndpoint(_ name: String) {
        targetName = name
        targetIsJob = false
        targetNameBuffer = nil
    }

    func setJob(_ name: String) {
        targetName = name
        targetIsJob = true
        targetNameBuffer = nil
    }

    /// The endpoint's name as a C string, valid while the call lives.
    var endpointCString: UnsafePointer<CChar>? {
        if handlerReached.load(ordering: .acquiring), let running { return running.endpoint.nameBuffer.cString }
        guard let targetName else { return nil }
        if targetNameBuffer == nil { targetNameBuffer = OwnedBuffer(targetName) }
        return targetNameBuffer?.cString
    }

    func setBody(_ bytes: kn_bytes, contentType: String?) {
        body = OwnedBuffer(bytes)
        if let contentType { self.contentType = OwnedBuffer(contentType) }
    }

    func setBody(_ bytes: [UInt8], contentType: String) {
        body = OwnedBuffer(bytes)
        self.contentType = OwnedBuffer(contentType)
    }

    /// Request metadata. "request.id" and "protocol" are made on first read:
    /// most calls never ask for them.
    func meta(_ key: String) -> OwnedBuffer? {
        if let value = meta[key] { return value }
        switch key {
        case "protocol": return protocolName
        case "request.id":
            let id = OwnedBuffer(kernel.nextRequestID())
            meta[key] = id
            return id
        default: return endpointMeta(key)
        }
    }

    /// Metadata as set, without making "request.id" (a read from any thread).
    func existingMeta(_ key: String) -> OwnedBuffer? { meta[key] }

    func setMeta(_ key: String, _ value: OwnedBuffer) {
        meta[key] = value
        if key == "call.preflight" { isPreflight = true }
    }

    func setResponseMeta(_ key: String, _ value: kn_bytes) {
        key.withCString { setResponseMeta($0, value) }
    }

    /// The hot path: a middleware sets a dozen headers per call, so keys
    /// are compared as bytes, never made into Strings.
    func setResponseMeta(_ key: UnsafePointer<CChar>, _ value: kn_bytes) {
        let value = OwnedBuffer(value)
        if let index = responseMeta.firstIndex(where: { $0.key.equals(key) }) {
            responseMeta[index].value = value
        } else {
            responseMeta.append((OwnedBuffer(cString: key), value))
        }
    }

    func responseMeta(_ key: String) -> OwnedBuffer? {
        key.withCString { key in responseMeta.first { $0.key.equals(key) }?.value }
    }

    func responseMeta(at index: Int) -> (key: OwnedBuffer, value: OwnedBuffer)? {
        index < responseMeta.count ? responseMeta[index] : nil
    }

    /// Targets the endpoint of the route matching `method` and `path`.
    func setRoute(method: String, path: String) -> kn_status {
        switch kernel.registry.route(method: method, path: path) {
        case .matched(let endpoint, let parameters):
            setEndpoint(endpoint)
            for (name, value) in parameters { meta["param.\(name)"] = OwnedBuffer(percentDecoded(value)) }
            return KN_OK
        case .methodNotAllowed:
            return KN_ERR_METHOD_NOT_ALLOWED
        case .notFound:
            return KN_ERR_NOT_FOUND
        }
    }

    // MARK: Dispatch

    /// Resolves the endpoint and runs the chain. Completes at once with
    /// not_found when there is no such endpoint.
    func dispatch(_ callbacks: kn_call_callbacks) {
        guard !dispatched else { return }
        dispatched = true
        self.callbacks = callbacks
        _ = Unmanaged.passUnretained(self).retain() // given back by complete()

        guard let name = targetName else {
            fail(KN_ERR_NOT_FOUND, "the call has no endpoint")
            return
        }
        // The lookup also counts the call in flight for every plugin on its
        // way, under the registry lock: an unload that removed the entry
        // first sees this call when it drains.
        guard let target = targetIsJob ? kernel.registry.beginJob(name) : kernel.registry.beginEndpoint(name) else {
            fail(KN_ERR_NOT_FOUND, "no \(targetIsJob ? "job" : "endpoint") named '\(name)'")
            return
        }
        running = target
        if target.endpoint.kind != UInt32(KN_ENDPOINT_UNARY) && callbacks.on_item == nil {
            fail(KN_ERR_INVALID_ARGUMENT, "endpoint '\(name)' streams; its caller must take items")
            return
        }
        guard targetIsJob || admit(target) else { return }
        next()
    }

    /// Passes the call to the next middleware, or to the handler.
    func next() {
        guard !completed.load(ordering: .acquiring), let running else {
            releaseLateHold()
            return
        }
        let index = stage
        stage += 1
        if index < running.steps.count {
            let step = running.steps[index]
            step.function(step.userData, handle)
        } else if index == running.steps.count {
            // Sequentially consistent with cancel() and push(): whichever
            // runs second sees the other's write, so nothing is missed.
            handlerReached.store(true, ordering: .sequentiallyConsistent)
            if cancelled.load(ordering: .sequentiallyConsistent) {
                fail(KN_ERR_CANCELLED, "cancelled before the handler ran")
                return
            }
            if isPreflight {
                respond(.empty, contentType: nil)
                return
            }
            let entered = kernel.watch.threads.enter(running.endpoint)
            handlerCalled.store(true, ordering: .sequentiallyConsistent)
            running.handler(running.handlerUserData, handle)
            kernel.watch.threads.leave(entered)
            // A plain load first: the exchange (a locked instruction) only when an end waits.
            if endPending.load(ordering: .sequentiallyConsistent) && endPending.exchange(false, ordering: .sequentiallyConsistent) {
                _ = push(.empty)
            }
        }
    }

    func onComplete(_ function: kn_complete_fn, _ userData: UnsafeMutableRawPointer?) -> kn_status {
        if completed.load(ordering: .acquiring) { return KN_ERR_ALREADY_COMPLETED }
        observers.append((function, userData))
        return KN_OK
    }

    // MARK: Streams and cancellation

    func send(_ item: kn_bytes) -> kn_status {
        // Counted inside before `completed` is read: a completion by the kernel waits for this send to return.
        sending.add(1, ordering: .sequentiallyConsistent)
        defer { sending.subtract(1, ordering: .sequentiallyConsistent) }
        if cancelled.load(ordering: .relaxed) || completed.load(ordering: .sequentiallyConsistent) { return KN_ERR_CANCELLED }
        guard let onItem = callbacks.on_item else { return KN_ERR_INVALID_ARGUMENT }
        if onItem(callbacks.user_data, item) { return KN_OK }
        if !starterSignalsReady { signalReadyLater() }
        return KN_ERR_UNAVAILABLE
    }

    /// The consumer has room again: the handler hears it through on_ready.
    func ready() {
        guard dispatched, !completed.load(ordering: .acquiring), handlerReached.load(ordering: .acquiring),
              let running, let onReady = running.endpoint.onReady else { return }
        running.begin()
        defer { running.end() }
        guard !completed.load(ordering: .acquiring) else { return }
        onReady(running.endpoint.userData, handle)
    }

    /// A 1.0 starter never says it has room: tell the handler to try again shortly.
    private func signalReadyLater() {
        _ = Unmanaged.passUnretained(self).retain()
        DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(2)) {
            self.ready()
            Unmanaged.passUnretained(self).release()
        }
    }

    /// A client item for a bidirectional stream. Reaches the handler only
    /// once it has the call; its plugin counts the delivery in flight so a
    /// drain cannot free user_data under it.
    func push(_ item: kn_bytes) -> kn_status {
        guard dispatched, !completed.load(ordering: .acquiring) else { return KN_ERR_CANCELLED }
        if item.len == 0 && !handlerReached.load(ordering: .sequentiallyConsistent) {
            // The end of the client's items, before the handler has the call
            // (a middleware holds it): kept, and delivered when it gets there.
            endPending.store(true, ordering: .sequentiallyConsistent)
            guard handlerReached.load(ordering: .sequentiallyConsistent),
                  endPending.exchange(false, ordering: .sequentiallyConsistent) else { return KN_OK }
        }
        guard handlerReached.load(ordering: .acquiring), let running else { return KN_ERR_UNAVAILABLE }
        guard let onItem = running.endpoint.onItem else { return KN_ERR_INVALID_ARGUMENT }
        running.begin()
        defer { running.end() }
        guard !completed.load(ordering: .acquiring) else { return KN_ERR_CANCELLED }
        onItem(running.endpoint.userData, handle, item)
        return KN_OK
    }

    /// Marks the call cancelled. A handler that has the call hears it through
    /// on_cancel; a call still in its middleware fails when it reaches the handler.
    func cancel() {
        guard dispatched, !completed.load(ordering: .acquiring),
              !cancelled.exchange(true, ordering: .sequentiallyConsistent) else { return }
        guard handlerReached.load(ordering: .sequentiallyConsistent), let running,
              let onCancel = running.endpoint.onCancel else { return }
        running.begin()
        defer { running.end() }
        guard !completed.load(ordering: .acquiring) else { return }
        onCancel(running.endpoint.userData, handle)
    }

    // MARK: Completion

    @discardableResult
    func respond(_ body: kn_bytes, contentType: UnsafePointer<CChar>?) -> kn_status {
        complete(status: KN_OK, body: body, contentType: contentType, message: .empty, details: .empty)
    }

    @discardableResult
    func fail(_ status: kn_status, _ message: String, details: kn_bytes = .empty) -> kn_status {
        var message = message
        return message.withUTF8 { text in
            complete(status: status == KN_OK ? KN_ERR_INTERNAL : status, body: .empty, contentType: nil,
                     message: kn_bytes(ptr: text.baseAddress, len: text.count), details: details)
        }
    }

    /// Runs once: observers (newest first), then the starter's on_complete,
    /// then gives back the in-flight holds and the dispatch reference.
    private func complete(status: kn_status, body: kn_bytes, contentType: UnsafePointer<CChar>?,
                          message: kn_bytes, details: kn_bytes) -> kn_status {
        guard dispatched else { return KN_ERR_INVALID_ARGUMENT }
        if completed.exchange(true, ordering: .sequentiallyConsistent) {
            releaseLateHold()
            return KN_ERR_ALREADY_COMPLETED
        }
        // Completed by the kernel for a holder still at work: its counts wait for it.
        let deferred = !lateHold.compareExchange(expected: LateHold.none, desired: LateHold.closed, ordering: .sequentiallyConsistent).exchanged
        if deferred {
            lateHold.store(LateHold.deferred, ordering: .sequentiallyConsistent)
            while sending.load(ordering: .sequentiallyConsistent) > 0 { sched_yield() }
        }
        // Still listed as in flight while its holder works: an unload names it among what it left behind.
        if !deferred, let policy = admittedPolicy {
            kernel.registry.limits?.release(policy)
            kernel.watch.untrack(self)
        }
        // Error handlers may rewrite a failure; the revision lives until the callbacks are done.
        let revision = status == KN_OK ? nil : reviseFailure(status: status, message: message, details: details)
        defer { withExtendedLifetime(revision) {} }
        let message = revision?.message.bytes ?? message, details = revision?.details.bytes ?? details
        var response = kn_response()
        response.struct_size = UInt32(MemoryLayout<kn_response>.size)
        response.status = status
        response.body = body
        response.error_message = message
        response.error_details = details
        response.meta_count = responseMeta.count
        response.meta_handle = UnsafeRawPointer(Unmanaged.passUnretained(self).toOpaque())
        let emptyString: StaticString = ""
        response.content_type = contentType
            ?? UnsafeRawPointer(emptyString.utf8Start).assumingMemoryBound(to: CChar.self)
        for observer in observers.reversed() {
            withUnsafePointer(to: &response) { observer.function(observer.userData, $0) }
            // An observer may add response metadata (Server-Timing): the starter sees it.
            response.meta_count = responseMeta.count
        }
        withUnsafePointer(to: &response) { callbacks.on_complete?(callbacks.user_data, $0) }
        if !deferred { running?.end() }
        // `running` stays set: a transport may still be in push/cancel on another
        // thread (they read it after checking `completed`); clearing it here raced them.
        Unmanaged.passUnretained(self).release()
        return KN_OK
    }
}
