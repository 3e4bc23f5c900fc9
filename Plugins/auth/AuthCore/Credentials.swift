/// The credentials a request carries: a bearer token from `Authorization`,
/// an API key from its own header (such as `X-API-Key`), or neither.
///
/// ```swift
/// switch try Credentials.extract(authorization: headers["authorization"], apiKeyHeaderValue: headers["x-api-key"]) {
/// case .bearer(let token): identity = try await verifier.verify(token)
/// case .apiKey(let key): identity = try apiKeys.identity(forKey: key)
/// case .none: identity = nil
/// }
/// ```
public enum Credentials: Sendable, Hashable {
    case bearer(String)
    case apiKey(String)
    case none

    /// Reads the two header values (nil when a header is absent).
    ///
    /// - `Authorization` must be `Bearer <token>` (scheme in any case) with a
    ///   token of RFC 6750 token68 characters; another scheme, or no token, is
    ///   a failure rather than `.none`, so a client that got it wrong hears why.
    /// - The API key is trimmed and must be non-empty, without spaces or
    ///   control characters.
    /// - Both at once is refused: which one decides would be a guess.
    /// - Empty header values count as absent.
    public static func extract(authorization: String?, apiKeyHeaderValue: String?) throws(AuthFailure) -> Credentials {
        let authorization = authorization?.trimmingWhitespace()
        let apiKey = apiKeyHeaderValue?.trimmingWhitespace()
        let hasAuthorization = !(authorization ?? "").isEmpty
        let hasAPIKey = !(apiKey ?? "").isEmpty
        if hasAuthorization && hasAPIKey { throw .conflictingCredentials }
        if let authorization, hasAuthorization { return .bearer(try bearerToken(authorization)) }
        if let apiKey, hasAPIKey {
            guard apiKey.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value != 0x7F }) else { throw .malformedAPIKey }
            return .apiKey(apiKey)
        }
        return .none
    }

    private static func bearerToken(_ value: String) throws(AuthFailure) -> String {
        let parts = value.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard let scheme = parts.first else { throw .malformedAuthorization }
        guard scheme.lowercased() == "bearer" else {
            guard scheme.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" }) else { throw .malformedAuthorization }
            throw .unsupportedScheme(String(scheme))
        }
        guard parts.count == 2 else { throw .malformedAuthorization }
        let token = parts[1].drop(while: { $0 == " " })
        let body = token.unicodeScalars.reversed().drop(while: { $0 == "=" })
        guard !body.isEmpty, body.allSatisfy(isToken68) else { throw .malformedAuthorization }
        return String(token)
    }

    /// RFC 6750 §2.1: ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" (then only "=" padding).
    private static func isToken68(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar {
        case "A"..."Z", "a"..."z", "0"..."9", "-", ".", "_", "~", "+", "/": true
        default: false
        }
    }
}

extension String {
    fileprivate func trimmingWhitespace() -> String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { $0 != " " && $0 != "\t" }) else { return "" }
        let last = scalars.lastIndex(where: { $0 != " " && $0 != "\t" })!
        return String(scalars[first...last])
    }
}
