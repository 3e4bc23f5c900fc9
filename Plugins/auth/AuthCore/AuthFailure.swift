/// Why a request was refused, in words short enough to send to the client and
/// to log.
///
/// Reasons never carry key material or claim values; anything taken from the
/// request (an `alg`, a `kid`, a scheme name) is clipped and stripped of
/// control characters first, because it ends up in logs and responses.
///
/// ```swift
/// do {
///     let identity = try await verifier.verify(token)
/// } catch {
///     respond(status: error.kind == .forbidden ? 403 : 401, message: error.reason)
/// }
/// ```
public struct AuthFailure: Error, Sendable, Hashable, CustomStringConvertible {
    /// Maps to the HTTP status the transport answers with.
    public enum Kind: Sendable, Hashable {
        /// No usable credentials: 401.
        case unauthenticated
        /// Valid credentials without the role the endpoint needs: 403.
        case forbidden
    }

    public let kind: Kind
    /// For example `token expired` or `unknown key id 'k9'`.
    public let reason: String

    public init(_ reason: String, kind: Kind = .unauthenticated) {
        self.reason = reason
        self.kind = kind
    }

    public var description: String { reason }

    public static let tokenExpired = AuthFailure("token expired")
    public static let tokenNotYetValid = AuthFailure("token not yet valid")
    public static let wrongAudience = AuthFailure("wrong audience")
    public static let wrongIssuer = AuthFailure("wrong issuer")
    public static let badSignature = AuthFailure("bad signature")
    public static let malformedToken = AuthFailure("malformed token")
    public static let unsupportedCriticalHeader = AuthFailure("unsupported critical header")
    public static let missingExpiry = AuthFailure("token has no exp")
    public static let missingSubject = AuthFailure("token has no sub")
    public static let missingCredentials = AuthFailure("authentication required")
    public static let unknownAPIKey = AuthFailure("unknown API key")
    public static let malformedAuthorization = AuthFailure("malformed Authorization header")
    public static let malformedAPIKey = AuthFailure("malformed API key")
    public static let conflictingCredentials = AuthFailure("both a bearer token and an API key were given")

    public static func unsupportedAlgorithm(_ alg: String) -> AuthFailure {
        AuthFailure("unsupported algorithm '\(clip(alg))'")
    }

    public static func unknownKeyID(_ kid: String) -> AuthFailure {
        AuthFailure("unknown key id '\(clip(kid))'")
    }

    /// The token names a known key but an algorithm that key is not for.
    public static func algorithmMismatch(_ alg: String, kid: String) -> AuthFailure {
        AuthFailure("algorithm '\(clip(alg))' does not match key '\(clip(kid))'")
    }

    public static func unsupportedScheme(_ scheme: String) -> AuthFailure {
        AuthFailure("unsupported authorization scheme '\(clip(scheme))'")
    }

    /// A valid identity without any of the roles the endpoint asks for.
    public static func missingRole(_ anyOf: [String]) -> AuthFailure {
        AuthFailure("requires role \(anyOf.joined(separator: " or "))", kind: .forbidden)
    }

    /// Request text is attacker-controlled: keep it short and printable.
    static func clip(_ text: String) -> String {
        let printable = text.unicodeScalars.filter { $0.value >= 0x20 && $0.value != 0x7F && $0 != "'" }
        let clipped = String(String.UnicodeScalarView(printable.prefix(40)))
        return printable.count > 40 ? clipped + "…" : clipped
    }
}

/// A configuration value that cannot be used, with a message that names the
/// value and says what was expected.
///
/// ```swift
/// do { _ = try AccessRules(parsing: "admin.*=role:") }
/// catch { print(error) } // rule 'admin.*=role:': role: needs at least one role name
/// ```
public struct AuthConfigError: Error, Sendable, Hashable, CustomStringConvertible {
    public let message: String

    public init(_ message: String) {
        self.message = message
    }

    public var description: String { message }
}
