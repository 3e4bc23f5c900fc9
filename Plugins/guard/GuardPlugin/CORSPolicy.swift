import KernelSDK
import MiddlewareKit

/// Cross-origin requests (HTTP only): which origins may call, with which
/// methods and headers. Off until `cors_origins` is set.
///
/// ```ini
/// [guard]
/// cors_origins = https://app.example.com, https://*.example.com
/// cors_credentials = true
/// ```
struct CORSPolicy: Sendable {
    enum Origin: Sendable, Equatable {
        case any
        case exact(String)
        /// `https://*.example.com`: scheme and a suffix of subdomains (not the bare domain).
        case subdomains(scheme: String, suffix: String)
    }

    var origins: [Origin]
    var methods: [String]
    var headers: [String]
    var exposed: [String]
    var credentials: Bool
    var maxAge: Int
    /// The header values, joined once.
    var methodsText: String { methods.joined(separator: ", ") }
    let exposedText: String

    init?(_ kernel: PluginContext) throws {
        guard let list = kernel.config("cors_origins"), !list.trimmingSpaces.isEmpty else { return nil }
        origins = try Self.items(list).map { item throws -> Origin in
            if item == "*" { return .any }
            guard let schemeEnd = item.range(of: "://") else {
                throw ConfigError("[guard] cors_origins: '\(item)' is not an origin (scheme://host[:port])")
            }
            let scheme = String(item[..<schemeEnd.lowerBound]).lowercased()
            let host = String(item[schemeEnd.upperBound...]).lowercased()
            if host.hasPrefix("*.") { return .subdomains(scheme: scheme, suffix: String(host.dropFirst(1))) }
            guard !host.isEmpty, !host.contains("*"), !host.contains("/") else {
                throw ConfigError("[guard] cors_origins: '\(item)' is not an origin (a wildcard goes first: https://*.example.com)")
            }
            return .exact(scheme + "://" + host)
        }
        methods = Self.items(kernel.config("cors_methods") ?? "GET, POST, PUT, PATCH, DELETE").map { $0.uppercased() }
        headers = Self.items(kernel.config("cors_headers") ?? "authorization, content-type, x-request-id").map { $0.lowercased() }
        exposed = Self.items(kernel.config("cors_expose") ?? "x-request-id")
        credentials = ["true", "on", "yes", "1"].contains((kernel.config("cors_credentials") ?? "false").lowercased())
        maxAge = kernel.config("cors_max_age", default: 600)
        exposedText = exposed.joined(separator: ", ")
        if credentials && origins.contains(.any) {
            throw ConfigError("[guard] cors_credentials = true cannot go with cors_origins = * (browsers refuse it)")
        }
    }

    static func items(_ text: String) -> [String] {
        text.split(separator: ",").map(\.trimmingSpaces).filter { !$0.isEmpty }
    }

    func allows(origin: String) -> Bool {
        let origin = origin.lowercased()
        return origins.contains { allowed in
            switch allowed {
            case .any: true
            case .exact(let text): text == origin
            case .subdomains(let scheme, let suffix):
                origin.hasPrefix(scheme + "://") && origin.hasSuffix(suffix) && origin.count > scheme.count + 3 + suffix.count
                    && !origin.dropFirst(scheme.count + 3).dropLast(suffix.count).contains(where: { $0 == "/" || $0 == ":" })
            }
        }
    }

    /// Sets the CORS response headers for an allowed origin (and, on a
    /// preflight, an allowed method and headers); otherwise none, and the
    /// browser refuses the answer.
    func apply(to request: RequestContext) {
        guard let origin = request.header("origin"), allows(origin: origin) else { return }
        let preflight = request.hasMeta("call.preflight")
        var asked: [String] = []
        if preflight {
            guard let method = request.header("access-control-request-method")?.uppercased(), methods.contains(method) else { return }
            asked = Self.items(request.header("access-control-request-headers") ?? "").map { $0.lowercased() }
            guard asked.allSatisfy({ headers.contains($0) || headers.contains("*") }) else { return }
        }
        let wildcard = origins.contains(.any) && !credentials
        request.setResponseMeta("header.access-control-allow-origin", wildcard ? "*" : origin)
        if !wildcard { request.setResponseMeta("header.vary", "origin") }
        if credentials { request.setResponseMeta("header.access-control-allow-credentials", "true") }
        if preflight {
            request.setResponseMeta("header.access-control-allow-methods", methodsText)
            if !asked.isEmpty { request.setResponseMeta("header.access-control-allow-headers", asked.joined(separator: ", ")) }
            request.setResponseMeta("header.access-control-max-age", String(maxAge))
        } else if !exposed.isEmpty {
            request.setResponseMeta("header.access-control-expose-headers", exposedText)
        }
    }
}
