/// Who a request acts for, once its token or API key has been checked.
///
/// The same shape comes out of ``JWTVerifier/verify(_:)`` and
/// ``APIKeyStore/identity(forKey:)``, so the rest of the request path does not
/// care how the caller authenticated.
///
/// ```swift
/// let identity = try await verifier.verify(token)
/// if identity.roles.contains("admin") { … }
/// log("call by \(identity.subject) for tenant \(identity.tenant ?? "-")")
/// ```
public struct Identity: Sendable, Hashable, CustomStringConvertible {
    /// The `sub` claim, or the subject of an API key entry.
    public var subject: String
    /// The tenant claim (``JWTVerifier/Configuration/tenantClaim``), if the token has one.
    public var tenant: String?
    /// Roles in the order they were given, without repeats.
    public var roles: [String]
    /// Every top-level claim as text: strings as they are, numbers, booleans
    /// and `null` as their JSON text, arrays and objects as compact JSON.
    public var claims: [String: String]

    public init(subject: String, tenant: String? = nil, roles: [String] = [], claims: [String: String] = [:]) {
        self.subject = subject
        self.tenant = tenant
        self.roles = roles
        self.claims = claims
    }

    /// True when the identity holds at least one of `wanted`.
    public func hasAnyRole(_ wanted: [String]) -> Bool {
        wanted.contains { roles.contains($0) }
    }

    public var description: String {
        var text = "subject=\(subject)"
        if let tenant { text += " tenant=\(tenant)" }
        if !roles.isEmpty { text += " roles=\(roles.joined(separator: ","))" }
        return text
    }
}
