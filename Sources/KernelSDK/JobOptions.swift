import CKernelABI
import Foundation

/// How a job is queued: queue, priority, when, uniqueness, attempts and
/// timeout. Every field has a default, so set only what matters.
///
/// ```swift
/// try await kernel.enqueue("send_invoice", invoice,
///                          options: JobOptions(queue: "mail", uniqueKey: "invoice:\(invoice.id)"))
/// ```
public struct JobOptions: Sendable, Equatable {
    /// A queue the scheduler knows (`[scheduler] queues`); nil: "default".
    public var queue: String?
    /// 0 runs first, then 1, ... up to 9.
    public var priority: Int32
    /// Run no earlier than this long from now.
    public var delay: Duration
    /// Run no earlier than this time; wins over `delay`.
    public var runAt: Date?
    /// At most one unfinished job with this key (and name), or, with
    /// `uniqueFor`, one enqueued within that period. A second enqueue throws
    /// `conflict` with the existing job's id in `details["job_id"]`.
    public var uniqueKey: String?
    /// See `uniqueKey`; nil: unique while unfinished.
    public var uniqueFor: Duration?
    /// Attempts before the job is discarded; nil: the job's own.
    public var maxAttempts: UInt32?
    /// An attempt running longer is cancelled and counts as failed; nil: the queue's.
    public var timeout: Duration?
    /// The request that caused the job, stored with it and every run's
    /// `request.id`; nil: the request being served (`RequestScope`), if any.
    public var requestID: String?

    public init(queue: String? = nil, priority: Int32 = 0, delay: Duration = .zero, runAt: Date? = nil,
                uniqueKey: String? = nil, uniqueFor: Duration? = nil, maxAttempts: UInt32? = nil,
                timeout: Duration? = nil) {
        self.queue = queue
        self.priority = priority
        self.delay = delay
        self.runAt = runAt
        self.uniqueKey = uniqueKey
        self.uniqueFor = uniqueFor
        self.maxAttempts = maxAttempts
        self.timeout = timeout
    }

    /// Calls `body` with the options as a C struct, borrowed for the call.
    func withOptions<R>(_ body: (UnsafePointer<kn_job_options>) -> R) -> R {
        var options = kn_job_options()
        options.struct_size = UInt32(MemoryLayout<kn_job_options>.size)
        options.priority = priority
        options.delay_ms = delay.milliseconds
        options.run_at_ms = runAt.map { Int64(($0.timeIntervalSince1970 * 1000).rounded()) } ?? 0
        options.unique_for_ms = uniqueFor?.milliseconds ?? 0
        options.max_attempts = maxAttempts ?? 0
        options.timeout_ms = timeout?.milliseconds ?? 0
        return withOptionalCString(queue) { queue in
            withOptionalCString(uniqueKey) { key in
                withOptionalCString(requestID ?? RequestScope.requestID) { requestID in
                    options.queue = queue
                    options.unique_key = key
                    options.request_id = requestID
                    return withUnsafePointer(to: &options, body)
                }
            }
        }
    }
}

func withOptionalCString<R>(_ string: String?, _ body: (UnsafePointer<CChar>?) -> R) -> R {
    guard let string else { return body(nil) }
    return string.withCString { body($0) }
}
