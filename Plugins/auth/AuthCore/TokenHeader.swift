import Foundation

/// The `alg` and `kid` of a compact JWS, read before any key is chosen.
///
/// Reading them here, rather than leaving key choice to jwt-kit, is what lets
/// the verifier refuse `alg: none`, algorithms no configured key uses, and
/// unknown key ids with a precise reason: jwt-kit would fall back to its
/// default key for an unknown `kid`.
struct TokenHeader: Sendable, Equatable {
    var alg: String
    var kid: String?

    init(alg: String, kid: String? = nil) {
        self.alg = alg
        self.kid = kid
    }

    /// Parses the first segment of `token`; anything but three segments and a
    /// JSON object header with a string `alg` is a malformed token.
    init(token: String) throws(AuthFailure) {
        let segments = token.utf8.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard segments.count == 3, !segments[0].isEmpty, !segments[1].isEmpty,
            let json = Base64URL.decode(segments[0]),
            let fields = try? JSONDecoder().decode(Fields.self, from: json),
            let alg = fields.alg
        else { throw .malformedToken }
        // RFC 7515 §4.1.11: extensions marked critical that we do not implement (we implement none) refuse the token.
        if fields.crit != nil { throw .unsupportedCriticalHeader }
        self.init(alg: alg, kid: fields.kid)
    }

    /// A `kid` that is not a string fails decoding, and so the token.
    private struct Fields: Decodable {
        var alg: String?
        var kid: String?
        var crit: [String]?
    }
}

/// Base64url without padding (RFC 7515 §2), as JWS segments use it.
enum Base64URL {
    static func decode(_ segment: some Collection<UInt8>) -> Data? {
        var text = ""
        text.reserveCapacity(segment.count + 3)
        for byte in segment {
            switch byte {
            case UInt8(ascii: "-"): text.append("+")
            case UInt8(ascii: "_"): text.append("/")
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"):
                text.unicodeScalars.append(Unicode.Scalar(byte))
            default: return nil
            }
        }
        if text.utf8.count % 4 == 1 { return nil }
        text += String(repeating: "=", count: (4 - text.utf8.count % 4) % 4)
        return Data(base64Encoded: text)
    }
}
