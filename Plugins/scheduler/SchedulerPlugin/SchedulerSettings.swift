import KernelSDK

/// The `[scheduler]` keys (README: "Background jobs and schedules").
struct SchedulerSettings: Sendable {
    var backoff: Backoff
    var pollMilliseconds: Int64
    var completedRetention: Int64
    var discardedRetention: Int64
    var pruneInterval: Duration
    var maxPayloadBytes: Int
    var shutdownGrace: Duration

    init(_ kernel: PluginContext) throws(PluginError) {
        func milliseconds(_ key: String, _ value: Int64) throws(PluginError) -> Int64 {
            guard let text = kernel.config(key) else { return value }
            guard let number = Int64(text), number >= 0 else {
                throw PluginError(.invalidArgument, "scheduler.\(key): '\(text)' is not a number of milliseconds")
            }
            return number
        }
        backoff = Backoff(baseMilliseconds: max(1, try milliseconds("backoff_base_ms", 2_000)),
                          maxMilliseconds: max(1, try milliseconds("backoff_max_ms", 3_600_000)))
        pollMilliseconds = max(10, try milliseconds("poll_interval_ms", 1_000))
        completedRetention = try milliseconds("retention.completed_ms", 86_400_000)
        discardedRetention = try milliseconds("retention.discarded_ms", 7 * 86_400_000)
        pruneInterval = .milliseconds(max(100, try milliseconds("prune_interval_ms", 60_000)))
        maxPayloadBytes = Int(try milliseconds("max_payload_bytes", 1 << 20))
        shutdownGrace = .milliseconds(try milliseconds("shutdown_grace_ms", 5_000))
    }
}
