import Crypto
import Foundation

/// The plugins an operator trusts, pinned: SHA-256 digests of plugin files,
/// and Ed25519 public keys whose detached signatures (`<file>.sig`) are
/// accepted. One entry per line, `#` starts a comment:
///
/// ```
/// sha256 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08  libhello.so
/// ed25519 MCowBQYDK2VwAyEA...=  release key 2026
/// ```
public struct TrustFile: Sendable {
    public private(set) var digests: Set<String> = []
    public private(set) var keys: [(key: Curve25519.Signing.PublicKey, label: String)] = []

    public init(parsing text: String) throws(TrustError) {
        for (number, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            guard let kind = words.first else { continue }
            guard words.count >= 2 else { throw TrustError("trust file line \(number + 1): '\(kind)' needs a value") }
            switch kind {
            case "sha256":
                let digest = words[1].lowercased()
                guard digest.count == 64, digest.allSatisfy(\.isHexDigit) else {
                    throw TrustError("trust file line \(number + 1): a sha256 is 64 hexadecimal digits")
                }
                digests.insert(digest)
            case "ed25519":
                guard let raw = Data(base64Encoded: words[1]), raw.count == 32,
                      let key = try? Curve25519.Signing.PublicKey(rawRepresentation: raw) else {
                    throw TrustError("trust file line \(number + 1): an ed25519 key is 32 bytes in base64")
                }
                keys.append((key, words.dropFirst(2).joined(separator: " ")))
            default:
                throw TrustError("trust file line \(number + 1): unknown entry '\(kind)' (sha256 or ed25519)")
            }
        }
    }

    public init(contentsOfFile path: String) throws(TrustError) {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw TrustError("cannot read trust file \(path)")
        }
        try self.init(parsing: text)
    }

    /// Why `plugin` (the file's bytes) is not trusted, or nil: its digest is
    /// pinned, or `signature` (a `.sig` file's text) verifies with a key.
    public func problem(plugin: [UInt8], signature: String?) -> String? {
        let digest = PluginDigest.hex(plugin)
        if digests.contains(digest) { return nil }
        guard let signature else {
            return "sha256 \(digest) is not in the trust file, and there is no .sig file beside it"
        }
        guard let bytes = Data(base64Encoded: signature.trimmingCharacters(in: .whitespacesAndNewlines)), bytes.count == 64 else {
            return "its .sig file is not a base64 Ed25519 signature"
        }
        let message = PluginDigest.signedMessage(digest)
        if keys.contains(where: { $0.key.isValidSignature(bytes, for: message) }) { return nil }
        return "sha256 \(digest) is not in the trust file, and its signature matches no trusted key"
    }
}

/// What is signed: the file's SHA-256, under a fixed prefix, so a plugin
/// signature cannot be replayed as any other kind of signature.
public enum PluginDigest {
    public static func hex(_ bytes: [UInt8]) -> String {
        SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
    }

    public static func signedMessage(_ digest: String) -> Data { Data("kn plugin signature 1\n\(digest)\n".utf8) }
}

public struct TrustError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
