/// Which endpoints a rule is about: `*` (all), a prefix ending in `*`
/// (`users.*`), or one exact name.
///
/// ```swift
/// EndpointPattern("users.*").matches("users.get")   // true
/// ```
public struct EndpointPattern: Sendable, Equatable, CustomStringConvertible {
    public let text: String
    private let prefix: Substring?

    public init(_ text: String) {
        self.text = text
        prefix = text.hasSuffix("*") ? text.dropLast() : nil
    }

    public func matches(_ endpoint: String) -> Bool {
        if let prefix { return prefix.isEmpty || endpoint.hasPrefix(prefix) }
        return endpoint == text
    }

    public var description: String { text }
}

/// An ordered list of `pattern=value` rules; the first whose pattern
/// matches the endpoint wins.
///
/// ```swift
/// let limits = try RuleList("login=5/m, api.*=100/s", parse: RateLimit.init)
/// limits.first(for: "api.orders")   // 100/s
/// ```
public struct RuleList<Value: Sendable>: Sendable {
    public let rules: [(pattern: EndpointPattern, value: Value)]

    /// Rules separated by `,` or `;`; each `pattern=value`. `parse` turns a
    /// value's text into a `Value` or throws a message naming what is wrong.
    public init(_ text: String, parse: (String) throws -> Value) throws(ConfigError) {
        var rules: [(EndpointPattern, Value)] = []
        for part in text.split(whereSeparator: { $0 == "," || $0 == ";" }) {
            let rule = part.trimmingSpaces
            if rule.isEmpty { continue }
            guard let equals = rule.firstIndex(of: "=") else {
                throw ConfigError("rule '\(rule)': expected pattern=value")
            }
            let pattern = rule[..<equals].trimmingSpaces, value = rule[rule.index(after: equals)...].trimmingSpaces
            guard !pattern.isEmpty else { throw ConfigError("rule '\(rule)': the endpoint pattern is empty") }
            do {
                rules.append((EndpointPattern(pattern), try parse(value)))
            } catch {
                throw ConfigError("rule '\(rule)': \(error)")
            }
        }
        self.rules = rules
    }

    public init() { rules = [] }

    public var isEmpty: Bool { rules.isEmpty }

    public func first(for endpoint: String) -> Value? {
        rules.first { $0.pattern.matches(endpoint) }?.value
    }
}

/// A configuration value a plugin cannot use: the message names the key and why.
public struct ConfigError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

extension StringProtocol {
    /// Without leading and trailing spaces and tabs.
    public var trimmingSpaces: String {
        let text = String(self)
        guard let first = text.firstIndex(where: { $0 != " " && $0 != "\t" }),
              let last = text.lastIndex(where: { $0 != " " && $0 != "\t" }) else { return "" }
        return String(text[first...last])
    }
}
