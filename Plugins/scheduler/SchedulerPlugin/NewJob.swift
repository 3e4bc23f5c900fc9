import KernelSDK

/// A job to store: what `submit` received, checked.
struct NewJob: Sendable {
    var name: String
    var queue: String
    var priority: Int64
    var payload: String
    var maxAttempts: Int64
    var runAt: Int64
    var timeoutMilliseconds: Int64
    var uniqueKey: String?
    var uniqueForMilliseconds: Int64
    var schedule: String?
    var fireAt: Int64?
    var enqueuedBy: String
    var requestID: String? = nil

    /// The row's values in `JobStore.insertColumns` order.
    func values(state: JobState, now: Int64) -> [SQLValue] {
        [.text(name), .text(queue), .text(state.rawValue), .integer(priority), .text(payload), .integer(maxAttempts),
         .integer(runAt), .integer(timeoutMilliseconds), .text(uniqueKey), .integer(uniqueForMilliseconds),
         .text(schedule), .integer(fireAt), .text(enqueuedBy), .integer(now), .text(requestID)]
    }
}

/// The outcome of storing one job.
enum InsertResult: Sendable {
    case stored(Int64)
    /// A job with the same unique key exists: its id.
    case duplicate(Int64)
    case failed(PluginError)
}
