import Foundation

/// Everything the auth middleware needs, read from the plugin's
/// configuration values (for example an `[auth]` section).
///
/// | key                     | value                                                   | default     |
/// | ----------------------- | ------------------------------------------------------- | ----------- |
/// | `jwt.keys`              | ``KeySpec`` texts separated by commas                   | none        |
/// | `jwt.jwks`              | path of a JWKS file                                     | none        |
/// | `jwt.jwks_recheck_ms`   | how often at most the JWKS file is checked for a change | `1000`      |
/// | `jwt.issuer`            | required `iss`                                          | any         |
/// | `jwt.audience`          | required member of `aud`                                | any         |
/// | `jwt.leeway`            | seconds of clock skew on `exp` and `nbf`                | `60`        |
/// | `jwt.require_exp`       | `true` or `false`                                       | `true`      |
/// | `jwt.tenant_claim`      | claim name or dotted path                               | `tenant`    |
/// | `jwt.roles_claim`       | claim names, comma-separated, merged (e.g. `roles,scope`) | `roles`   |
/// | `jwt.cache_size`        | verified tokens remembered; `0` turns the cache off     | `10000`     |
/// | `api_keys`              | ``APIKeyStore`` entries separated by commas             | none        |
/// | `api_keys_file`         | path of a file of entries, one per line                 | none        |
/// | `api_key_header`        | header that carries an API key                          | `x-api-key` |
/// | `rules`                 | ``AccessRules`` text                                    | all `required` |
///
/// A secret containing a comma needs the `hs256-base64:` form in `jwt.keys`.
///
/// ```swift
/// let settings = try AuthSettings(config: { kernel.config($0) })
/// let verifier = try await settings.jwt.map { try await JWTVerifier($0) }
/// ```
public struct AuthSettings: Sendable {
    /// Nil when neither `jwt.keys` nor `jwt.jwks` is set: bearer tokens are then refused.
    public var jwt: JWTVerifier.Configuration?
    public var apiKeys: APIKeyStore
    public var rules: AccessRules
    /// Lowercase, as HTTP/2 and most header maps keep names.
    public var apiKeyHeader: String

    public init(config: (String) -> String?) throws(AuthConfigError) {
        func text(_ key: String) -> String? {
            guard let value = config(key)?.trimmingCharacters(in: .whitespacesAndNewlines), !value.isEmpty else { return nil }
            return value
        }
        func integer(_ key: String, default value: Int) throws(AuthConfigError) -> Int {
            guard let raw = text(key) else { return value }
            guard let number = Int(raw), number >= 0 else { throw AuthConfigError("\(key) = '\(raw)': expected a whole number ≥ 0") }
            return number
        }

        let keyTexts = text("jwt.keys")?.split(separator: ",").map(String.init) ?? []
        var keys: [KeySpec] = []
        for keyText in keyTexts where !keyText.trimmingCharacters(in: .whitespaces).isEmpty {
            keys.append(try KeySpec(parsing: keyText))
        }
        let jwksPath = text("jwt.jwks")
        if keys.isEmpty && jwksPath == nil {
            jwt = nil
        } else {
            var jwt = JWTVerifier.Configuration(
                keys: keys, jwksPath: jwksPath, issuer: text("jwt.issuer"), audience: text("jwt.audience"))
            jwt.jwksRecheckInterval = .milliseconds(try integer("jwt.jwks_recheck_ms", default: 1000))
            jwt.leeway = try integer("jwt.leeway", default: 60)
            jwt.cacheCapacity = try integer("jwt.cache_size", default: 10_000)
            switch text("jwt.require_exp")?.lowercased() {
            case nil, "true", "yes", "1": jwt.requireExpiry = true
            case "false", "no", "0": jwt.requireExpiry = false
            case let other?: throw AuthConfigError("jwt.require_exp = '\(other)': expected true or false")
            }
            if let tenant = text("jwt.tenant_claim") { jwt.tenantClaim = tenant }
            if let roles = text("jwt.roles_claim") {
                jwt.rolesClaims = roles.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            }
            try jwt.validate()
            self.jwt = jwt
        }

        var apiKeys = try APIKeyStore(parsing: text("api_keys") ?? "")
        if let path = text("api_keys_file") {
            let fromFile = try APIKeyStore(contentsOfFile: path)
            apiKeys = try apiKeys.merging(fromFile)
        }
        self.apiKeys = apiKeys
        self.rules = try AccessRules(parsing: text("rules") ?? "")
        self.apiKeyHeader = (text("api_key_header") ?? "x-api-key").lowercased()
    }
}
