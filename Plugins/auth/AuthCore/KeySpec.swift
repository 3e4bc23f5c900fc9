import Foundation

/// One verification key as configured: an HS256 secret, or a PEM public key
/// file for RS256, ES256 or EdDSA, optionally with the `kid` tokens name it by.
///
/// Text form, `<scheme>[#<kid>]:<value>`, split at the first `:` so that
/// secrets and paths may contain colons:
///
/// | scheme         | value                                            |
/// | -------------- | ------------------------------------------------ |
/// | `hs256`        | the secret itself, as UTF-8 text (≥ 32 bytes)    |
/// | `hs256-base64` | the secret as base64 or base64url (≥ 32 bytes)   |
/// | `rs256`        | path of an RSA public key PEM (≥ 2048 bits)      |
/// | `es256`        | path of a P-256 public key PEM                   |
/// | `eddsa`        | path of an Ed25519 public key PEM                |
///
/// ```swift
/// let keys = try [
///     KeySpec(parsing: "hs256:use-at-least-32-random-bytes-here"),
///     KeySpec(parsing: "rs256#2024-06:/etc/kernel/auth/rsa.pub.pem"),
///     KeySpec(parsing: "eddsa#edge:/etc/kernel/auth/ed25519.pub.pem"),
/// ]
/// ```
///
/// A key without a `kid` also takes tokens whose `kid` names no configured
/// key, as long as their `alg` is the key's. PEM files are read once, when the
/// verifier is built; use a JWKS file for keys that rotate.
public struct KeySpec: Sendable, Hashable, CustomStringConvertible {
    /// The JWS algorithms a configured key can be for.
    public enum Algorithm: String, Sendable, CaseIterable {
        case hs256 = "HS256"
        case rs256 = "RS256"
        case es256 = "ES256"
        case eddsa = "EdDSA"
    }

    public enum Material: Sendable, Hashable {
        /// An HMAC secret.
        case secret([UInt8])
        /// A path to a PEM `PUBLIC KEY` file.
        case pemFile(String)
    }

    public var algorithm: Algorithm
    public var kid: String?
    public var material: Material

    public init(algorithm: Algorithm, kid: String? = nil, material: Material) {
        self.algorithm = algorithm
        self.kid = kid
        self.material = material
    }

    /// An HS256 key from a text secret.
    public static func hs256(secret: String, kid: String? = nil) -> KeySpec {
        KeySpec(algorithm: .hs256, kid: kid, material: .secret(Array(secret.utf8)))
    }

    /// An RS256, ES256 or EdDSA key from a PEM public key file.
    public static func publicKeyFile(_ algorithm: Algorithm, path: String, kid: String? = nil) -> KeySpec {
        KeySpec(algorithm: algorithm, kid: kid, material: .pemFile(path))
    }

    /// Parses the text form described above.
    public init(parsing text: String) throws(AuthConfigError) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard let colon = trimmed.firstIndex(of: ":") else {
            throw AuthConfigError("key '\(Self.redacted(trimmed))': expected <scheme>[#<kid>]:<value>, e.g. hs256:<secret> or rs256#k1:/path/key.pem")
        }
        let head = trimmed[..<colon]
        let value = String(trimmed[trimmed.index(after: colon)...])
        let scheme = head.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false)
        let name = scheme[0].lowercased()
        var kid: String? = nil
        if scheme.count == 2 {
            guard !scheme[1].isEmpty else { throw AuthConfigError("key '\(head):…': empty kid after '#'") }
            kid = String(scheme[1])
        }
        guard !value.isEmpty else { throw AuthConfigError("key '\(head):': no value after ':'") }
        switch name {
        case "hs256":
            self.init(algorithm: .hs256, kid: kid, material: .secret(Array(value.utf8)))
        case "hs256-base64":
            guard let bytes = Self.base64(value), !bytes.isEmpty else {
                throw AuthConfigError("key '\(head):…': the secret is not base64")
            }
            self.init(algorithm: .hs256, kid: kid, material: .secret(bytes))
        case "rs256": self.init(algorithm: .rs256, kid: kid, material: .pemFile(value))
        case "es256": self.init(algorithm: .es256, kid: kid, material: .pemFile(value))
        case "eddsa": self.init(algorithm: .eddsa, kid: kid, material: .pemFile(value))
        default:
            throw AuthConfigError("key '\(head):…': unknown scheme '\(name)' (expected hs256, hs256-base64, rs256, es256 or eddsa)")
        }
    }

    /// Never prints a secret: it ends up in logs.
    public var description: String {
        let id = kid.map { " kid=\($0)" } ?? ""
        switch material {
        case .secret(let bytes): return "\(algorithm.rawValue)\(id) secret (\(bytes.count) bytes)"
        case .pemFile(let path): return "\(algorithm.rawValue)\(id) \(path)"
        }
    }

    private static func redacted(_ text: String) -> String {
        text.count > 12 ? String(text.prefix(8)) + "…" : text
    }

    private static func base64(_ text: String) -> [UInt8]? {
        var standard = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        standard = standard.trimmingCharacters(in: CharacterSet(charactersIn: "="))
        standard += String(repeating: "=", count: (4 - standard.utf8.count % 4) % 4)
        return Data(base64Encoded: standard).map(Array.init)
    }
}
