import Foundation

/// The claim rules applied after a signature checks out, and the mapping from
/// claims to an ``Identity``.
struct ClaimPolicy: Sendable {
    var issuer: String?
    var audience: String?
    var leeway: Double
    var requireExpiry: Bool
    var tenantClaim: String
    var rolesClaims: [String]

    /// Checks exp, nbf, iss and aud; returns the expiry (seconds since 1970),
    /// which bounds how long the result may be cached.
    func check(_ claims: ClaimSet, now: Double) throws(AuthFailure) -> Double? {
        let expiry = try numericDate(claims["exp"])
        if let expiry {
            try checkExpiry(expiry, now: now)
        } else if requireExpiry {
            throw .missingExpiry
        }
        if let notBefore = try numericDate(claims["nbf"]), now + leeway < notBefore {
            throw .tokenNotYetValid
        }
        if let issuer, claims["iss"]?.string != issuer {
            throw .wrongIssuer
        }
        if let audience, !Self.audience(claims["aud"], contains: audience) {
            throw .wrongAudience
        }
        return expiry
    }

    /// RFC 7519 §4.1.4: the token is refused on or after exp; leeway absorbs clock skew.
    func checkExpiry(_ expiry: Double, now: Double) throws(AuthFailure) {
        if now >= expiry + leeway { throw .tokenExpired }
    }

    func identity(from claims: ClaimSet) throws(AuthFailure) -> Identity {
        guard let subject = claims["sub"]?.string, !subject.isEmpty else { throw .missingSubject }
        let tenant: String? =
            switch claims.lookup(tenantClaim) {
            case nil, .null: nil
            case let value?: value.text
            }
        var roles: [String] = []
        for name in rolesClaims {
            for role in Self.roles(in: claims.lookup(name)) where !roles.contains(role) {
                roles.append(role)
            }
        }
        return Identity(subject: subject, tenant: tenant, roles: roles, claims: claims.flattened)
    }

    /// Roles come as an array of strings, or as one string separated by
    /// spaces (OAuth `scope`) or commas.
    static func roles(in value: ClaimValue?) -> [String] {
        switch value {
        case .string(let text):
            return text.split(whereSeparator: { $0 == " " || $0 == "," }).map(String.init)
        case .array(let items):
            return items.compactMap { item in
                guard case .string(let role) = item, !role.isEmpty else { return nil }
                return role
            }
        default:
            return []
        }
    }

    /// `aud` is a single string or an array of strings (RFC 7519 §4.1.3).
    static func audience(_ value: ClaimValue?, contains wanted: String) -> Bool {
        switch value {
        case .string(let single): single == wanted
        case .array(let items): items.contains(.string(wanted))
        default: false
        }
    }

    /// A NumericDate claim; any other JSON type makes the token malformed.
    private func numericDate(_ value: ClaimValue?) throws(AuthFailure) -> Double? {
        guard let value else { return nil }
        guard let seconds = value.seconds, seconds.isFinite else { throw .malformedToken }
        return seconds
    }
}
