import KernelSDK

/// A named queue: how many of its jobs run at once, how many may start
/// per second, the default attempt timeout, and whether it is paused.
struct QueueSettings: Codable, Sendable, Equatable {
    var name: String
    var concurrency: Int
    /// Jobs started per second at most; 0: no limit.
    var rate: Double
    var timeout_ms: Int64
    var paused: Bool

    static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 64
            && name.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x5F || $0 == 0x2D || $0 == 0x2E }
    }

    /// The configured queues: `queues = default:10, mail:5` (name:concurrency),
    /// plus `queue.<name>.rate` and `queue.<name>.timeout_ms`. "default" always exists.
    static func configured(_ kernel: PluginContext) throws(PluginError) -> [String: QueueSettings] {
        var queues: [String: QueueSettings] = [:]
        let text = kernel.config("queues") ?? "default:10"
        for item in text.split(whereSeparator: { $0 == "," || $0 == " " }) where !item.isEmpty {
            let parts = item.split(separator: ":", maxSplits: 1).map(String.init)
            let name = parts[0]
            guard isValidName(name) else {
                throw PluginError(.invalidArgument, "scheduler.queues: '\(name)' is not a queue name ([a-z0-9_.-]{1,64})")
            }
            guard let concurrency = parts.count > 1 ? Int(parts[1]) : 10, concurrency > 0, concurrency <= 10_000 else {
                throw PluginError(.invalidArgument, "scheduler.queues: the concurrency of '\(name)' must be 1 to 10000")
            }
            queues[name] = QueueSettings(
                name: name, concurrency: concurrency, rate: Double(kernel.config("queue.\(name).rate") ?? "") ?? 0,
                timeout_ms: Int64(kernel.config("queue.\(name).timeout_ms") ?? "") ?? 0, paused: false)
        }
        if queues["default"] == nil {
            queues["default"] = QueueSettings(name: "default", concurrency: 10, rate: 0, timeout_ms: 0, paused: false)
        }
        return queues
    }
}

/// Starts per second, counted over a sliding window: in no window of one
/// second (of 1/rate seconds for rates below one) do more jobs start than
/// the rate allows, even after the queue was idle. Rates above one count
/// whole jobs (2.5 allows 2 per second).
struct RateLimiter: Sendable {
    /// Start times (ms) inside the current window, oldest first.
    private var starts: [Int64] = []

    private static func window(_ rate: Double) -> (milliseconds: Int64, capacity: Int) {
        let milliseconds = max(1000, Int64((1000 / rate).rounded(.up)))
        return (milliseconds, max(1, Int((rate * Double(milliseconds) / 1000).rounded(.down))))
    }

    /// How many jobs may start now (everything when `rate` is 0).
    mutating func available(rate: Double) -> Int {
        guard rate > 0 else { return Int.max }
        let (window, capacity) = Self.window(rate)
        let now = Self.monotonicMilliseconds()
        starts.removeAll { $0 <= now - window }
        return max(0, capacity - starts.count)
    }

    mutating func take(_ count: Int, rate: Double) {
        guard rate > 0, count > 0 else { return }
        starts += [Int64](repeating: Self.monotonicMilliseconds(), count: count)
    }

    /// How long until the oldest start leaves the window (zero: a start is allowed now).
    func wait(rate: Double) -> Duration {
        guard rate > 0 else { return .zero }
        let (window, capacity) = Self.window(rate)
        guard starts.count >= capacity, let oldest = starts.first else { return .zero }
        return .milliseconds(max(1, oldest + window - Self.monotonicMilliseconds()))
    }

    /// Milliseconds of a clock that a change of the wall clock does not move.
    private static func monotonicMilliseconds() -> Int64 {
        let elapsed = ContinuousClock.now - origin
        return elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000
    }
    private static let origin = ContinuousClock.now
}

/// The default retry schedule: `base · 2^(attempt-1)`, at most `max`, each
/// spread by ±10% so that retries of a burst of failures do not line up.
/// With the defaults (base 2 s, max 1 h): about 2 s, 4 s, 8 s, 16 s, ... 1 h.
struct Backoff: Sendable {
    var baseMilliseconds: Int64 = 2_000
    var maxMilliseconds: Int64 = 3_600_000

    func delay(afterAttempt attempt: Int64) -> Int64 {
        let exponent = min(max(attempt - 1, 0), 40)
        let raw = min(Double(baseMilliseconds) * pow2(exponent), Double(maxMilliseconds))
        return Int64(raw * Double.random(in: 0.9...1.1))
    }

    private func pow2(_ n: Int64) -> Double { Double(sign: .plus, exponent: Int(n), significand: 1) }
}
