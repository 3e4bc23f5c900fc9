import Foundation
import JWTKit

/// A token payload with every claim kept, whatever its name or type.
///
/// jwt-kit decodes the payload into this after the signature checks out; the
/// claim rules (exp, nbf, iss, aud) are applied by ``ClaimPolicy`` afterwards
/// so that the leeway and the clock are ours.
struct ClaimSet: JWTPayload {
    var values: [String: ClaimValue]

    init(_ values: [String: ClaimValue]) {
        self.values = values
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: AnyKey.self)
        var values: [String: ClaimValue] = [:]
        for key in container.allKeys {
            values[key.stringValue] = try container.decode(ClaimValue.self, forKey: key)
        }
        self.values = values
    }

    func encode(to encoder: any Encoder) throws {
        // Only verified, never signed: nothing here is ever encoded.
        throw EncodingError.invalidValue(self, .init(codingPath: [], debugDescription: "ClaimSet is decode-only"))
    }

    /// Claim checks happen in ``ClaimPolicy``, with the configured leeway.
    func verify(using algorithm: some JWTAlgorithm) async throws {}

    subscript(name: String) -> ClaimValue? { values[name] }

    /// A top-level claim by name, or else a dotted path into nested objects
    /// (`realm_access.roles`), as some identity providers nest their roles.
    func lookup(_ path: String) -> ClaimValue? {
        if let direct = values[path] { return direct }
        let parts = path.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count > 1, var current = values[String(parts[0])] else { return nil }
        for part in parts.dropFirst() {
            guard case .object(let members) = current, let next = members[String(part)] else { return nil }
            current = next
        }
        return current
    }

    /// Every top-level claim as text.
    var flattened: [String: String] {
        values.mapValues(\.text)
    }

    private struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }
}
