import Foundation

/// Which ``Requirement`` each endpoint has, as an ordered list of
/// `pattern=requirement` rules separated by commas or newlines.
///
/// - A pattern is an exact endpoint name (`users.get`), a prefix ending in
///   `*` (`users.*` matches `users.get` and `users.admin.list`, not `users`),
///   or `*` alone, which matches everything.
/// - A requirement is `none`, `required` or `role:<r1>|<r2>…` (any one role).
/// - The first matching rule wins; an endpoint no rule matches is `required`,
///   so a forgotten endpoint fails closed.
///
/// ```swift
/// let rules = try AccessRules(parsing: "admin.*=role:admin|ops, users.*=required, public.*=none, *=none")
/// rules.requirement(forEndpoint: "admin.reload") // .roles(["admin", "ops"])
/// rules.requirement(forEndpoint: "health")       // .none, from *=none
/// ```
public struct AccessRules: Sendable, CustomStringConvertible {
    public struct Rule: Sendable, Hashable {
        /// As written: `users.*`, `users.get` or `*`.
        public var pattern: String
        public var requirement: Requirement

        func matches(_ endpoint: String) -> Bool {
            if pattern.hasSuffix("*") { return endpoint.hasPrefix(pattern.dropLast()) }
            return endpoint == pattern
        }
    }

    public let rules: [Rule]

    /// What applies when no rule matches.
    public static let fallback = Requirement.required

    public init(rules: [Rule]) {
        self.rules = rules
    }

    /// Parses the rule text; an empty text gives no rules, so every endpoint is `required`.
    public init(parsing text: String) throws(AuthConfigError) {
        var rules: [Rule] = []
        let items = text.split(whereSeparator: { $0 == "," || $0.isNewline })
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty && !$0.hasPrefix("#") }
        for item in items {
            let rule = try Self.parseRule(item)
            if let earlier = rules.firstIndex(where: { $0.pattern == rule.pattern }) {
                throw AuthConfigError("rule '\(item)': pattern '\(rule.pattern)' already has rule \(earlier + 1), which wins")
            }
            rules.append(rule)
        }
        self.rules = rules
    }

    /// The requirement of the first rule whose pattern matches `endpoint`.
    public func requirement(forEndpoint endpoint: String) -> Requirement {
        rules.first { $0.matches(endpoint) }?.requirement ?? Self.fallback
    }

    /// The rules in the text form they parse from.
    public var description: String {
        rules.map { "\($0.pattern)=\($0.requirement)" }.joined(separator: ", ")
    }

    private static func parseRule(_ item: String) throws(AuthConfigError) -> Rule {
        guard let equals = item.firstIndex(of: "=") else {
            throw AuthConfigError("rule '\(item)': expected <pattern>=<requirement>, e.g. users.*=required")
        }
        let pattern = item[..<equals].trimmingCharacters(in: .whitespaces)
        guard !pattern.isEmpty else { throw AuthConfigError("rule '\(item)': the pattern before '=' is empty") }
        guard !pattern.contains(where: \.isWhitespace) else {
            throw AuthConfigError("rule '\(item)': the pattern '\(pattern)' contains a space")
        }
        if let star = pattern.firstIndex(of: "*"), star != pattern.index(before: pattern.endIndex) {
            throw AuthConfigError("rule '\(item)': '*' may only end a pattern (users.* or *), not appear inside '\(pattern)'")
        }
        do {
            return Rule(pattern: pattern, requirement: try Requirement(parsing: String(item[item.index(after: equals)...])))
        } catch {
            throw AuthConfigError("rule '\(item)': \(error.message)")
        }
    }
}
