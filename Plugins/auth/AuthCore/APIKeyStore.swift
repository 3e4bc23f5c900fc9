import Crypto
import Foundation

/// API keys, kept only as SHA-256 hashes, each mapped to the identity it
/// stands for.
///
/// One entry per key, fields separated by `:`:
///
///     <sha256-hex-of-key>:<subject>[:<role1>+<role2>…][:<tenant>]
///
/// - the hash is 64 hex digits of SHA-256 over the key's UTF-8 bytes;
/// - the subject is required; roles are joined by `+` and may be left empty
///   (`…:svc-backup::acme` has a tenant and no roles);
/// - no field may contain `:`, and no role `+` or spaces.
///
/// In configuration, entries are separated by commas or newlines; in a file,
/// one per line, with blank lines and lines starting with `#` ignored.
///
/// ```swift
/// let line = try APIKeyStore.entry(forKey: "k3y-from-the-vault", subject: "ci", roles: ["deploy"])
/// let store = try APIKeyStore(parsing: line)
/// let identity = try store.identity(forKey: presentedKey) // throws AuthFailure.unknownAPIKey
/// ```
public struct APIKeyStore: Sendable {
    private struct Entry: Sendable {
        var digest: [UInt8]
        var identity: Identity
    }

    private let entries: [Entry]

    /// How many keys the store holds.
    public var count: Int { entries.count }

    /// Entries in the format above, separated by commas or newlines.
    public init(parsing text: String) throws(AuthConfigError) {
        try self.init(lines: text.split(whereSeparator: { $0 == "," || $0.isNewline }).map(String.init))
    }

    /// One entry per line; `#` starts a comment line.
    public init(contentsOfFile path: String) throws(AuthConfigError) {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw AuthConfigError("cannot read API key file '\(path)'")
        }
        let lines = String(decoding: data, as: UTF8.self).split(whereSeparator: \.isNewline).map(String.init)
        do {
            try self.init(lines: lines)
        } catch {
            throw AuthConfigError("API key file '\(path)': \(error.message)")
        }
    }

    private init(lines: [String]) throws(AuthConfigError) {
        var entries: [Entry] = []
        for line in lines {
            let text = line.trimmingCharacters(in: .whitespaces)
            if text.isEmpty || text.hasPrefix("#") { continue }
            entries.append(try Self.parse(text))
        }
        try self.init(entries: entries)
    }

    private init(entries: [Entry]) throws(AuthConfigError) {
        var seen: Set<[UInt8]> = []
        for entry in entries where !seen.insert(entry.digest).inserted {
            // Two identities for one key: which one a caller gets would be an accident.
            throw AuthConfigError("API key entry for '\(entry.identity.subject)': the same key hash appears twice")
        }
        self.entries = entries
    }

    /// This store's keys and `other`'s together, e.g. from configuration and from a file.
    public func merging(_ other: APIKeyStore) throws(AuthConfigError) -> APIKeyStore {
        try APIKeyStore(entries: entries + other.entries)
    }

    /// The identity of `key`, or ``AuthFailure/unknownAPIKey``.
    ///
    /// Every stored hash is compared in full, whichever matches, so the time
    /// taken says nothing about how close a guess came.
    public func identity(forKey key: String) throws(AuthFailure) -> Identity {
        let presented = Array(SHA256.hash(data: Array(key.utf8)))
        var found: Identity? = nil
        for entry in entries {
            var difference: UInt8 = 0
            for (a, b) in zip(entry.digest, presented) { difference |= a ^ b }
            if difference == 0 { found = entry.identity }
        }
        guard let found else { throw .unknownAPIKey }
        return found
    }

    /// The lowercase hex SHA-256 of a key, as stored in an entry.
    public static func hash(ofKey key: String) -> String {
        SHA256.hash(data: Array(key.utf8)).map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
    }

    /// The entry line that stores `key` for an identity, for a `kernelctl`
    /// command or a setup script to print; the key itself is not in it.
    ///
    /// ```swift
    /// try APIKeyStore.entry(forKey: "s3cret", subject: "ci", roles: ["deploy", "read"], tenant: "acme")
    /// // "<64 hex digits>:ci:deploy+read:acme"
    /// ```
    public static func entry(
        forKey key: String, subject: String, roles: [String] = [], tenant: String? = nil
    ) throws(AuthConfigError) -> String {
        guard !key.isEmpty else { throw AuthConfigError("the API key is empty") }
        // Whatever is written must read back as the same identity.
        func check(_ field: String, _ name: String, also forbidden: Character? = nil) throws(AuthConfigError) {
            guard !field.isEmpty, isPlain(field), !field.contains(":"), forbidden.map({ !field.contains($0) }) ?? true else {
                throw AuthConfigError("\(name) '\(field)' must be non-empty, without ':', ',', \(forbidden.map { "'\($0)', " } ?? "")or spaces")
            }
        }
        try check(subject, "subject")
        for role in roles { try check(role, "role", also: "+") }
        if let tenant { try check(tenant, "tenant") }
        var fields = [hash(ofKey: key), subject, roles.joined(separator: "+")]
        if let tenant { fields.append(tenant) }
        while fields.count > 2, fields.last == "" { fields.removeLast() }
        return fields.joined(separator: ":")
    }

    private static func parse(_ text: String) throws(AuthConfigError) -> Entry {
        let fields = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        let shown = String(text.prefix(12)) + "…"
        guard (2...4).contains(fields.count) else {
            throw AuthConfigError("API key entry '\(shown)': expected <sha256-hex>:<subject>[:<role1>+<role2>][:<tenant>]")
        }
        guard let digest = bytes(hex: fields[0]), digest.count == 32 else {
            throw AuthConfigError("API key entry '\(shown)': the first field must be 64 hex digits (SHA-256 of the key)")
        }
        let subject = fields[1]
        guard !subject.isEmpty, isPlain(subject) else {
            throw AuthConfigError("API key entry '\(shown)': the subject must be non-empty, without spaces or ','")
        }
        var roles: [String] = []
        if fields.count > 2, !fields[2].isEmpty {
            roles = fields[2].split(separator: "+", omittingEmptySubsequences: false).map(String.init)
            guard roles.allSatisfy({ !$0.isEmpty && isPlain($0) }) else {
                throw AuthConfigError("API key entry for '\(subject)': roles are names joined by '+', without spaces or ','")
            }
        }
        let tenant = fields.count > 3 ? fields[3] : nil
        if let tenant, tenant.isEmpty || !isPlain(tenant) {
            throw AuthConfigError("API key entry for '\(subject)': the tenant must be non-empty, without spaces or ','")
        }
        var claims = ["sub": subject]
        if let tenant { claims["tenant"] = tenant }
        let identity = Identity(subject: subject, tenant: tenant, roles: roles, claims: claims)
        return Entry(digest: digest, identity: identity)
    }

    private static func isPlain(_ field: String) -> Bool {
        !field.contains(where: { $0.isWhitespace || $0 == "," })
    }

    private static func bytes(hex: String) -> [UInt8]? {
        let digits = Array(hex.utf8)
        guard digits.count % 2 == 0 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(digits.count / 2)
        for pair in stride(from: 0, to: digits.count, by: 2) {
            guard let high = hexValue(digits[pair]), let low = hexValue(digits[pair + 1]) else { return nil }
            bytes.append(high << 4 | low)
        }
        return bytes
    }

    private static func hexValue(_ digit: UInt8) -> UInt8? {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): digit - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): digit - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): digit - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
