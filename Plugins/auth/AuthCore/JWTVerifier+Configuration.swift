import Foundation

extension JWTVerifier {
    /// What a ``JWTVerifier`` accepts: its keys and the claim rules.
    ///
    /// ```swift
    /// var config = JWTVerifier.Configuration()
    /// config.keys = [try KeySpec(parsing: "rs256#2024-06:/etc/kernel/auth/rsa.pub.pem")]
    /// config.jwksPath = "/etc/kernel/auth/jwks.json"
    /// config.issuer = "https://id.example.com/"
    /// config.audience = "kernel"
    /// let verifier = try await JWTVerifier(config)
    /// ```
    public struct Configuration: Sendable {
        /// Keys from configuration values; see ``KeySpec`` for the text form.
        public var keys: [KeySpec] = []
        /// A JWKS file whose keys are used alongside ``keys``, re-read when it changes.
        public var jwksPath: String?
        /// How often at most the JWKS file is checked for a change (one `stat`).
        public var jwksRecheckInterval: Duration = .seconds(1)
        /// When set, `iss` must equal it.
        public var issuer: String?
        /// When set, `aud` (a string or an array) must contain it.
        public var audience: String?
        /// Seconds of clock skew allowed on `exp` and `nbf`.
        public var leeway: Int = 60
        /// Refuse tokens without `exp`; such tokens would never lapse.
        public var requireExpiry: Bool = true
        /// The claim naming the tenant: a top-level name or a dotted path.
        public var tenantClaim: String = "tenant"
        /// Claims whose roles are merged, in order: arrays of strings, or
        /// strings separated by spaces or commas, such as OAuth `scope`.
        public var rolesClaims: [String] = ["roles"]
        /// Verified tokens remembered until their `exp`; 0 turns the cache off.
        public var cacheCapacity: Int = 10_000
        /// Longer tokens are refused unparsed, which also bounds the cache's memory.
        public var maxTokenLength: Int = 8 * 1024

        /// The time used for `exp` and `nbf`; replaced in tests.
        var now: @Sendable () -> Double = { Date().timeIntervalSince1970 }

        public init(
            keys: [KeySpec] = [], jwksPath: String? = nil, issuer: String? = nil, audience: String? = nil
        ) {
            self.keys = keys
            self.jwksPath = jwksPath
            self.issuer = issuer
            self.audience = audience
        }

        var claimPolicy: ClaimPolicy {
            ClaimPolicy(
                issuer: issuer, audience: audience, leeway: Double(leeway), requireExpiry: requireExpiry,
                tenantClaim: tenantClaim, rolesClaims: rolesClaims)
        }

        func validate() throws(AuthConfigError) {
            if keys.isEmpty && jwksPath == nil {
                throw AuthConfigError("no JWT keys: configure keys, a JWKS file, or both")
            }
            guard leeway >= 0 else { throw AuthConfigError("leeway must not be negative (got \(leeway))") }
            guard cacheCapacity >= 0 else { throw AuthConfigError("cache capacity must not be negative") }
            guard maxTokenLength > 0 else { throw AuthConfigError("max token length must be positive") }
            guard !tenantClaim.isEmpty else { throw AuthConfigError("tenant claim name is empty") }
            guard !rolesClaims.contains(where: \.isEmpty) else { throw AuthConfigError("a roles claim name is empty") }
            var seen: Set<String> = []
            for key in keys {
                guard let kid = key.kid else { continue }
                guard seen.insert(kid).inserted else { throw AuthConfigError("kid '\(kid)' is configured twice") }
            }
        }
    }
}
