import Foundation
import JWTKit

/// One key ready to verify with, in a jwt-kit collection of its own.
///
/// A collection per key, rather than one for all, is deliberate: jwt-kit
/// verifies a token whose `kid` it does not know with its default key, so the
/// choice of key stays with ``KeyRing``, which refuses unknown ids and
/// mismatched algorithms first.
struct VerificationKey: Sendable {
    let kid: String?
    /// The JWS `alg` this key verifies, e.g. `RS256`.
    let algorithm: String
    let collection: JWTKeyCollection

    /// Reads the PEM file, if any, and builds the jwt-kit key.
    static func make(_ spec: KeySpec) async throws(AuthConfigError) -> VerificationKey {
        let collection = JWTKeyCollection()
        do {
            switch (spec.algorithm, spec.material) {
            case (.hs256, .secret(let bytes)):
                // RFC 7518 §3.2; jwt-kit also traps on shorter keys in debug builds.
                guard bytes.count >= 32 else {
                    throw AuthConfigError("key '\(spec)': an HS256 secret needs at least 32 bytes (RFC 7518 §3.2)")
                }
                await collection.add(hmac: HMACKey(from: bytes), digestAlgorithm: .sha256)
            case (.rs256, .pemFile(let path)):
                await collection.add(rsa: try Insecure.RSA.PublicKey(pem: try readPEM(path)), digestAlgorithm: .sha256)
            case (.es256, .pemFile(let path)):
                await collection.add(ecdsa: try ES256PublicKey(pem: try readPEM(path)))
            case (.eddsa, .pemFile(let path)):
                await collection.add(eddsa: try EdDSA.PublicKey(pem: try readPEM(path)))
            default:
                throw AuthConfigError("key '\(spec)': \(spec.algorithm.rawValue) takes a \(spec.algorithm == .hs256 ? "secret" : "PEM file")")
            }
        } catch let error as AuthConfigError {
            throw error
        } catch {
            throw AuthConfigError("key '\(spec)': not a \(spec.algorithm.rawValue) public key in PEM form (\(error))")
        }
        return VerificationKey(kid: spec.kid, algorithm: spec.algorithm.rawValue, collection: collection)
    }

    /// Builds a key from a JWKS entry whose `kid` and `alg` are settled.
    static func make(jwk: JWK, kid: String, algorithm: String) async throws -> VerificationKey {
        var jwk = jwk
        // Verification only: a set that leaks private parts must not make us a signer.
        jwk.privateExponent = nil
        jwk.prime1 = nil
        jwk.prime2 = nil
        jwk.algorithm = JWK.Algorithm(rawValue: algorithm)
        jwk.keyIdentifier = JWKIdentifier(string: kid)
        let collection = JWTKeyCollection()
        try await collection.add(jwk: jwk)
        // Builds the signer now, so a bad key is reported at load and not per request.
        let name = try await collection.getKey(alg: algorithm).name
        guard name == algorithm else { throw AuthConfigError("built a \(name) key for alg \(algorithm)") }
        return VerificationKey(kid: kid, algorithm: algorithm, collection: collection)
    }

    private static func readPEM(_ path: String) throws(AuthConfigError) -> String {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw AuthConfigError("cannot read key file '\(path)'")
        }
        return String(decoding: data, as: UTF8.self)
    }
}

/// The keys in force at one moment: the configured ones, then those of the
/// JWKS file. Immutable, so a verification never sees half a rotation.
struct KeyRing: Sendable {
    let keys: [VerificationKey]
    /// Every `alg` some key verifies; any other `alg` is refused outright.
    let algorithms: Set<String>
    private let byKid: [String: [VerificationKey]]

    init(_ keys: [VerificationKey]) {
        self.keys = keys
        self.algorithms = Set(keys.map(\.algorithm))
        self.byKid = Dictionary(grouping: keys.filter { $0.kid != nil }, by: { $0.kid! })
    }

    /// The keys worth trying for a token with this header, or why there are none.
    func candidates(for header: TokenHeader) throws(AuthFailure) -> [VerificationKey] {
        guard header.alg.lowercased() != "none", algorithms.contains(header.alg) else {
            throw .unsupportedAlgorithm(header.alg)
        }
        if let kid = header.kid, let named = byKid[kid] {
            let matching = named.filter { $0.algorithm == header.alg }
            // Same kid, other alg: the classic RS256-key-as-HS256-secret confusion.
            guard !matching.isEmpty else { throw .algorithmMismatch(header.alg, kid: kid) }
            return matching
        }
        let unnamed = keys.filter { $0.kid == nil && $0.algorithm == header.alg }
        if let kid = header.kid {
            guard !unnamed.isEmpty else { throw .unknownKeyID(kid) }
            return unnamed
        }
        // No kid: keys without one first, then any key for this alg.
        return unnamed + keys.filter { $0.kid != nil && $0.algorithm == header.alg }
    }
}
