import Foundation
import JWTKit
import Synchronization

/// Verifies JWTs (HS256, RS256, ES256, EdDSA) against configured keys and a
/// JWKS file, and turns their claims into an ``Identity``.
///
/// A token passes when, in this order: its header names an `alg` that some
/// configured key uses (never `none`); its `kid`, if any, names a key for that
/// `alg` (or a key configured without a kid takes it); the signature checks
/// out with jwt-kit; `exp` and `nbf` hold within the leeway; and `iss` and
/// `aud` match the configuration when it sets them. The first failure is the
/// ``AuthFailure`` thrown.
///
/// Verifications run in parallel: the only shared state is the cache of
/// verified tokens, held under a lock for a lookup or an insert.
///
/// ```swift
/// let verifier = try await JWTVerifier(.init(keys: [.hs256(secret: secret)], audience: "kernel"))
/// do {
///     let identity = try await verifier.verify(bearerToken)
///     print(identity.subject, identity.roles)
/// } catch {
///     print("refused:", error.reason) // e.g. "token expired"
/// }
/// ```
public final class JWTVerifier: Sendable {
    private let policy: ClaimPolicy
    private let fixedRing: KeyRing
    private let jwks: JWKSSource?
    private let cache: Mutex<LRUCache<String, CachedIdentity>>
    private let maxTokenLength: Int
    private let now: @Sendable () -> Double

    private struct CachedIdentity {
        var identity: Identity
        var expiry: Double
        /// The key ring it was verified with; a newer ring means verify again.
        var generation: UInt64
    }

    /// Reads the key files and the JWKS file; fails on any key or value that
    /// cannot be used, so a bad configuration stops the plugin at load.
    public init(_ configuration: Configuration) async throws(AuthConfigError) {
        try configuration.validate()
        var fixed: [VerificationKey] = []
        for spec in configuration.keys {
            fixed.append(try await VerificationKey.make(spec))
        }
        self.fixedRing = KeyRing(fixed)
        if let path = configuration.jwksPath {
            self.jwks = try await JWKSSource(
                path: path, fixed: fixed, recheckInterval: configuration.jwksRecheckInterval)
        } else {
            self.jwks = nil
        }
        self.policy = configuration.claimPolicy
        self.cache = Mutex(LRUCache(capacity: configuration.cacheCapacity))
        self.maxTokenLength = configuration.maxTokenLength
        self.now = configuration.now
    }

    /// Verifies `token` (the compact form, without `Bearer `) and returns who it is for.
    ///
    /// A token verified before with the same keys is answered from the cache
    /// until its `exp`, which is still checked on every call.
    public func verify(_ token: String) async throws(AuthFailure) -> Identity {
        guard !token.isEmpty, token.utf8.count <= maxTokenLength else { throw .malformedToken }
        let (ring, generation) = await currentKeys(force: false)
        let now = self.now()
        if let hit = cacheEntry(for: token, generation: generation) {
            do {
                try policy.checkExpiry(hit.expiry, now: now)
            } catch {
                cache.withLock { $0.removeValue(for: token) }
                throw error
            }
            return hit.identity
        }
        let header = try TokenHeader(token: token)
        let claims = try await verifySignature(token, with: try ring.candidates(for: header))
        let expiry = try policy.check(claims, now: now)
        let identity = try policy.identity(from: claims)
        // Tokens without exp are not cached: nothing would say when to let go of them.
        if let expiry {
            let entry = CachedIdentity(identity: identity, expiry: expiry, generation: generation)
            cache.withLock { $0.insert(entry, for: token) }
        }
        return identity
    }

    /// The identity of a token verified before, if that result still stands,
    /// without suspending: a caller on an event loop can answer at once and
    /// start a task only for tokens it has not seen. Nil means "call
    /// ``verify(_:)``", which also gives the reason when the token fails.
    ///
    /// ```swift
    /// if let identity = verifier.cachedIdentity(for: token) { return admit(identity) }
    /// Task { respond(try await verifier.verify(token)) }
    /// ```
    public func cachedIdentity(for token: String) -> Identity? {
        var generation: UInt64 = 0
        if let jwks {
            guard let checked = jwks.generationIfChecked() else { return nil }
            generation = checked
        }
        guard let hit = cacheEntry(for: token, generation: generation) else { return nil }
        guard (try? policy.checkExpiry(hit.expiry, now: now())) != nil else { return nil }
        return hit.identity
    }

    /// Checks the JWKS file now rather than at the next recheck interval, for
    /// an operator's "reload keys" command. Does nothing without a JWKS file.
    public func reloadKeys() async {
        _ = await currentKeys(force: true)
    }

    /// Why the last change to the JWKS file was not applied, if it was not;
    /// the keys from before stay in force meanwhile.
    public var jwksError: String? { jwks?.lastError }

    /// Keys of the JWKS file that were left out, and why (worth a log line at load).
    public var jwksNotes: [String] { jwks?.notes ?? [] }

    /// How many verified tokens are cached now.
    public var cachedCount: Int { cache.withLock { $0.count } }

    func isCached(_ token: String) -> Bool {
        cache.withLock { $0.contains(token) }
    }

    private func currentKeys(force: Bool) async -> (KeyRing, UInt64) {
        guard let jwks else { return (fixedRing, 0) }
        let current = await jwks.current(force: force)
        return (current.ring, current.generation)
    }

    private func cacheEntry(for token: String, generation: UInt64) -> CachedIdentity? {
        cache.withLock { cache in
            guard let hit = cache.value(for: token) else { return nil }
            guard hit.generation == generation else {
                cache.removeValue(for: token)
                return nil
            }
            return hit
        }
    }

    /// Tries each candidate key; the first whose signature matches gives the claims.
    private func verifySignature(_ token: String, with keys: [VerificationKey]) async throws(AuthFailure) -> ClaimSet {
        for key in keys {
            do {
                return try await key.collection.verify(token, as: ClaimSet.self)
            } catch let error as JWTError where error.errorType == .malformedToken {
                // The signature held but the payload is not a JSON object.
                throw .malformedToken
            } catch {
                continue
            }
        }
        throw .badSignature
    }
}
