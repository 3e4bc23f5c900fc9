import Foundation
import JWTKit

/// The signing keys of a JWKS file (RFC 7517), each with a settled `kid` and
/// `alg`, and a note for every key that was left out and why.
///
/// Keys are taken one by one, so one key of a type we cannot use (`oct`, an
/// `enc` key, an X25519 curve) does not take the rest of the set down with it.
struct JWKSDocument: Sendable {
    struct Entry: Sendable {
        var jwk: JWK
        var kid: String
        var alg: String
    }

    var entries: [Entry] = []
    var notes: [String] = []

    /// The algorithms jwt-kit can build from a JWK.
    static let algorithms: Set<String> = [
        "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA",
    ]

    /// Fails only when the file is not a JSON object with a `keys` array.
    static func parse(_ data: Data) throws(AuthConfigError) -> JWKSDocument {
        struct KeySet: Decodable { var keys: [ClaimValue] }
        guard let set = try? JSONDecoder().decode(KeySet.self, from: data) else {
            throw AuthConfigError("not a JWKS document: expected a JSON object with a \"keys\" array")
        }
        var document = JWKSDocument()
        for (index, value) in set.keys.enumerated() {
            switch entry(value) {
            case .success(let entry):
                if document.entries.contains(where: { $0.kid == entry.kid && $0.alg == entry.alg }) {
                    document.notes.append("key \(index + 1) (kid '\(entry.kid)'): repeats an earlier kid and alg, skipped")
                } else {
                    document.entries.append(entry)
                }
            case .failure(let reason):
                document.notes.append("key \(index + 1): \(reason.message), skipped")
            }
        }
        return document
    }

    private static func entry(_ value: ClaimValue) -> Result<Entry, AuthConfigError> {
        guard case .object(let members) = value else { return .failure(AuthConfigError("not a JSON object")) }
        guard let kid = members["kid"]?.string, !kid.isEmpty else {
            // Rotation works by kid, so a key without one could never be retired cleanly.
            return .failure(AuthConfigError("no kid"))
        }
        if let use = members["use"], use != .string("sig") {
            return .failure(AuthConfigError("kid '\(kid)': use is \(use.text), not sig"))
        }
        let kty = members["kty"]?.string ?? ""
        guard let alg = members["alg"]?.string ?? inferredAlgorithm(kty: kty, crv: members["crv"]?.string) else {
            return .failure(AuthConfigError("kid '\(kid)': no alg, and none follows from kty '\(kty)'"))
        }
        guard algorithms.contains(alg) else {
            return .failure(AuthConfigError("kid '\(kid)': unsupported alg '\(alg)'"))
        }
        do {
            return .success(Entry(jwk: try JWK(json: value.text), kid: kid, alg: alg))
        } catch {
            return .failure(AuthConfigError("kid '\(kid)': unsupported kty '\(kty)' or curve"))
        }
    }

    /// RFC 7517 makes `alg` optional; these are the only readings that are unambiguous.
    private static func inferredAlgorithm(kty: String, crv: String?) -> String? {
        switch (kty, crv) {
        case ("RSA", _): "RS256"
        case ("EC", "P-256"): "ES256"
        case ("EC", "P-384"): "ES384"
        case ("EC", "P-521"): "ES512"
        case ("OKP", "Ed25519"): "EdDSA"
        default: nil
        }
    }
}

/// What identifies one version of a file: a new write changes the
/// modification time or the size, and an atomic replace changes the inode.
struct FileStamp: Sendable, Hashable {
    var device: UInt64
    var inode: UInt64
    var size: Int64
    var seconds: Int64
    var nanoseconds: Int64

    /// Nil when the file cannot be examined (missing, no permission).
    static func of(_ path: String) -> FileStamp? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        #if canImport(Darwin)
        let modified = info.st_mtimespec
        #else
        let modified = info.st_mtim
        #endif
        return FileStamp(
            device: UInt64(info.st_dev), inode: UInt64(info.st_ino), size: Int64(info.st_size),
            seconds: Int64(modified.tv_sec), nanoseconds: Int64(modified.tv_nsec))
    }
}
