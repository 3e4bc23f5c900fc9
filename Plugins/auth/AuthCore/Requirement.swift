/// What an endpoint asks of the caller.
///
/// ```swift
/// let requirement = rules.requirement(forEndpoint: "admin.reload")
/// if let failure = requirement.check(identity) { return refuse(failure) }
/// ```
public enum Requirement: Sendable, Hashable, CustomStringConvertible {
    /// Anyone, with or without credentials.
    case none
    /// Any caller with valid credentials.
    case required
    /// A caller with valid credentials and at least one of these roles.
    case roles([String])

    /// Whether a caller needs credentials at all; when false, a request
    /// without them is let through unauthenticated.
    public var needsIdentity: Bool { self != .none }

    /// Nil when `identity` (nil for a request without credentials) may call;
    /// else the failure to answer with: 401 without an identity, 403 without a role.
    public func check(_ identity: Identity?) -> AuthFailure? {
        switch self {
        case .none:
            return nil
        case .required:
            return identity == nil ? .missingCredentials : nil
        case .roles(let anyOf):
            guard let identity else { return .missingCredentials }
            return identity.hasAnyRole(anyOf) ? nil : .missingRole(anyOf)
        }
    }

    /// The text form used in rules: `none`, `required` or `role:a|b`.
    public var description: String {
        switch self {
        case .none: "none"
        case .required: "required"
        case .roles(let anyOf): "role:" + anyOf.joined(separator: "|")
        }
    }

    /// Parses `none`, `required` or `role:<r1>|<r2>…`.
    public init(parsing text: String) throws(AuthConfigError) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        switch trimmed {
        case "none": self = .none
        case "required": self = .required
        case _ where trimmed.hasPrefix("role:"):
            let names = trimmed.dropFirst("role:".count).split(separator: "|", omittingEmptySubsequences: false)
                .map { $0.trimmingCharacters(in: .whitespaces) }
            guard names != [""] else { throw AuthConfigError("role: needs at least one role name") }
            guard !names.contains(where: { $0.isEmpty || $0.contains(where: \.isWhitespace) }) else {
                throw AuthConfigError("role names are separated by '|' and may not be empty or contain spaces")
            }
            self = .roles(names)
        default:
            throw AuthConfigError("unknown requirement '\(trimmed)' (expected none, required or role:<r1>|<r2>)")
        }
    }
}
