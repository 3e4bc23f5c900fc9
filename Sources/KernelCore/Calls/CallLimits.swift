import Foundation
import Synchronization

/// Deadlines and in-flight limits, from `[kernel]`:
///
///     call_timeout_ms = 30000            # every unary call; 0: none
///     timeouts = report.*=120000, ping=200   # per endpoint (streams too)
///     max_in_flight = 10000              # all calls together; 0: no limit
///     endpoint_limits = search=64, export.*=4
///
/// A pattern is an endpoint name, or a prefix ending in `*`. The first
/// pattern that matches wins. A client may shorten a deadline with the
/// `x-timeout-ms` header (or that `meta` key of a ws/tcp envelope), never
/// lengthen it.
final class CallLimits: Sendable {
    /// What applies to one endpoint; resolved once per registry change.
    final class Policy: Sendable {
        let timeoutMilliseconds: Int64
        let maxInFlight: Int
        /// Shared by every version of the endpoint, so a reload does not reset it.
        let inFlight: InFlightCounter?

        init(timeoutMilliseconds: Int64, maxInFlight: Int, inFlight: InFlightCounter?) {
            self.timeoutMilliseconds = timeoutMilliseconds
            self.maxInFlight = maxInFlight
            self.inFlight = inFlight
        }
    }

    final class InFlightCounter: Sendable {
        let value = Atomic<Int>(0)
    }

    let defaultTimeout: Int64
    let timeouts: [Rule]
    let maxInFlight: Int
    let endpointLimits: [Rule]
    let inFlight = Atomic<Int>(0)
    private let counters = Mutex<[String: InFlightCounter]>([:])

    init(_ configuration: Configuration) throws(KernelError) {
        defaultTimeout = Int64(configuration.integer("kernel", "call_timeout_ms", default: 30_000))
        maxInFlight = configuration.integer("kernel", "max_in_flight", default: 10_000)
        let section = configuration.section("kernel")
        timeouts = try Self.rules(section["timeouts"], key: "timeouts")
        endpointLimits = try Self.rules(section["endpoint_limits"], key: "endpoint_limits")
    }

    static let unlimited = Policy(timeoutMilliseconds: 0, maxInFlight: 0, inFlight: nil)

    /// The policy of `endpoint`. The kernel-wide deadline applies to unary
    /// endpoints only: a stream lasts as long as its client wants.
    func policy(for endpoint: String, unary: Bool) -> Policy {
        let timeout = Self.first(timeouts, matching: endpoint).map(Int64.init) ?? (unary ? defaultTimeout : 0)
        let limit = Self.first(endpointLimits, matching: endpoint) ?? 0
        let counter = limit > 0 ? counters.withLock { counters in
            if let existing = counters[endpoint] { return existing }
            let made = InFlightCounter()
            counters[endpoint] = made
            return made
        } : nil
        return Policy(timeoutMilliseconds: timeout, maxInFlight: limit, inFlight: counter)
    }

    /// Counts a call in; nil when admitted, else why it is refused (then nothing is counted).
    func admit(_ policy: Policy) -> String? {
        if maxInFlight > 0, inFlight.add(1, ordering: .relaxed).newValue > maxInFlight {
            inFlight.subtract(1, ordering: .relaxed)
            return "overloaded: \(maxInFlight) calls in flight ([kernel] max_in_flight)"
        }
        if let counter = policy.inFlight, counter.value.add(1, ordering: .relaxed).newValue > policy.maxInFlight {
            counter.value.subtract(1, ordering: .relaxed)
            if maxInFlight > 0 { inFlight.subtract(1, ordering: .relaxed) }
            return "overloaded: \(policy.maxInFlight) calls of this endpoint in flight ([kernel] endpoint_limits)"
        }
        return nil
    }

    /// Counts an admitted call out.
    func release(_ policy: Policy) {
        if maxInFlight > 0 { inFlight.subtract(1, ordering: .relaxed) }
        policy.inFlight?.value.subtract(1, ordering: .relaxed)
    }

    typealias Rule = (pattern: String, value: Int)

    private static func first(_ rules: [Rule], matching name: String) -> Int? {
        rules.first { $0.pattern.hasSuffix("*") ? name.hasPrefix($0.pattern.dropLast()) : name == $0.pattern }?.value
    }

    /// "a=1, b.*=2" → [("a", 1), ("b.*", 2)]; a clear error for anything else.
    static func rules(_ text: String?, key: String) throws(KernelError) -> [Rule] {
        guard let text, !text.trimmingCharacters(in: .whitespaces).isEmpty else { return [] }
        var rules: [Rule] = []
        for entry in text.split(separator: ",") {
            let parts = entry.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2, !parts[0].isEmpty, let value = Int(parts[1]), value >= 0,
                  !parts[0].dropLast().contains("*") else {
                throw KernelError(KN_ERR_INVALID_ARGUMENT,
                                  "[kernel] \(key): '\(entry.trimmingCharacters(in: .whitespaces))' is not <endpoint or prefix*>=<number>")
            }
            rules.append((parts[0], value))
        }
        return rules
    }
}
