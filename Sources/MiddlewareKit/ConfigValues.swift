import Glibc
import KernelSDK

extension PluginContext {
    /// A true/false configuration value (`true`, `on`, `yes`, `1` or their
    /// opposites); `value` when absent. Anything else is refused with the key.
    ///
    /// ```swift
    /// let logging = try kernel.flag("log", default: true)
    /// ```
    public func flag(_ key: String, default value: Bool) throws(ConfigError) -> Bool {
        guard let text = config(key)?.lowercased() else { return value }
        switch text {
        case "true", "on", "yes", "1": return true
        case "false", "off", "no", "0": return false
        default: throw ConfigError("\(key) = '\(text)': expected true or false")
        }
    }

    /// An `order` configuration value; `value` when absent.
    public func order(_ key: String, default value: Int32) throws(ConfigError) -> Int32 {
        guard let text = config(key) else { return value }
        guard let order = Int32(text) else { throw ConfigError("\(key) = '\(text)': expected an integer") }
        return order
    }
}

/// Seconds on the monotonic clock: for buckets and ages, which must not jump with the wall clock.
public enum MonotonicClock {
    public static func seconds() -> Double {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
    }
}
