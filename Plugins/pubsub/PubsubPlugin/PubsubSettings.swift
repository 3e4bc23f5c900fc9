import KernelSDK
import TopicPatterns

/// The `[pubsub]` keys (Protocols/pubsub.md, "Configuration").
struct PubsubSettings: Sendable {
    /// Topics stored (others reach live subscribers and handlers only).
    var persist: [TopicPattern]
    var retention: [RetentionRule]
    var retentionInterval: Duration
    /// Events queued per remote subscriber before `overflow` applies.
    var subscriberQueue: Int
    var overflow: Overflow
    /// Roles (`auth.roles`) that see every user's events of their tenant.
    var adminRoles: Set<String>
    var maxPayloadBytes: Int
    var pollLimit: Int
    var maxWait: Duration
    var httpRoutes: Bool

    enum Overflow: String, Sendable { case disconnect, drop }

    /// Age and count limits for the topics matching `pattern`; the first matching rule applies.
    struct RetentionRule: Sendable {
        var pattern: TopicPattern
        var maxAgeMilliseconds: Int64?
        var maxCount: Int64?
    }

    init(_ kernel: PluginContext) throws(PluginError) {
        func patterns(_ key: String, _ fallback: String) throws(PluginError) -> [TopicPattern] {
            var result: [TopicPattern] = []
            for text in (kernel.config(key) ?? fallback).split(separator: ",") {
                do {
                    result.append(try TopicPattern(validating: text.trimmingCharacters(in: .whitespaces)))
                } catch {
                    throw PluginError(.invalidArgument, "pubsub.\(key): \(error)")
                }
            }
            return result
        }
        persist = try patterns("persist", "#")
        retention = try Self.rules(kernel.config("retention") ?? "#=7d")
        retentionInterval = kernel.config("retention_interval_ms", default: .seconds(60))
        subscriberQueue = max(1, kernel.config("subscriber_queue", default: 1_024))
        guard let overflow = Overflow(rawValue: kernel.config("overflow") ?? "disconnect") else {
            throw PluginError(.invalidArgument, "pubsub.overflow: 'disconnect' or 'drop'")
        }
        self.overflow = overflow
        adminRoles = Set((kernel.config("admin_roles") ?? "admin").split(separator: ",").map {
            $0.trimmingCharacters(in: .whitespaces)
        })
        maxPayloadBytes = kernel.config("max_payload_bytes", default: 1 << 20)
        pollLimit = max(1, kernel.config("poll_limit", default: 1_000))
        maxWait = kernel.config("max_wait_ms", default: .seconds(60))
        httpRoutes = (kernel.config("http_routes") ?? "true") != "false"
    }

    /// `pattern=age[/count], …`: `orders.#=7d/100000, audit.#=365d, #=24h`.
    static func rules(_ text: String) throws(PluginError) -> [RetentionRule] {
        var rules: [RetentionRule] = []
        for entry in text.split(separator: ",") {
            let parts = entry.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2 else { throw PluginError(.invalidArgument, "pubsub.retention: '\(entry)' is not pattern=age[/count]") }
            let pattern: TopicPattern
            do { pattern = try TopicPattern(validating: parts[0]) } catch { throw PluginError(.invalidArgument, "pubsub.retention: \(error)") }
            var rule = RetentionRule(pattern: pattern)
            for limit in parts[1].split(separator: "/") {
                if let count = Int64(limit), count > 0 {
                    rule.maxCount = count
                } else if let age = Duration.milliseconds(spelled: String(limit)) {
                    rule.maxAgeMilliseconds = age
                } else {
                    throw PluginError(.invalidArgument, "pubsub.retention: '\(limit)' is neither an age (30s, 15m, 24h, 7d) nor a count")
                }
            }
            rules.append(rule)
        }
        return rules
    }

    func keeps(_ topic: String) -> Bool { persist.contains { $0.matches(topic) } }
}

extension Duration {
    /// `500ms`, `30s`, `15m`, `24h`, `7d` in milliseconds.
    static func milliseconds(spelled text: String) -> Int64? {
        let units: [(String, Int64)] = [("ms", 1), ("s", 1_000), ("m", 60_000), ("h", 3_600_000), ("d", 86_400_000)]
        for (suffix, factor) in units where text.hasSuffix(suffix) {
            guard let number = Int64(text.dropLast(suffix.count)), number > 0 else { continue }
            // A client's text: too large is the largest, never an overflow trap.
            let (product, overflow) = number.multipliedReportingOverflow(by: factor)
            return overflow ? .max : product
        }
        return nil
    }
}
