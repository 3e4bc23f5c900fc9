import AuthCore
import KernelSDK

/// One call through authentication: read the credentials, find who they
/// are for, check the endpoint's requirement, and say so in the call's
/// metadata. A presented credential that fails is refused even where none
/// is required: a client with a broken token hears why.
struct AuthGate: Sendable {
    let settings: AuthSettings
    let verifier: JWTVerifier?
    let realm: String
    /// `header.<api_key_header>`, made once.
    let apiKeyMeta: String

    init(settings: AuthSettings, verifier: JWTVerifier?, realm: String) {
        self.settings = settings
        self.verifier = verifier
        self.realm = realm
        apiKeyMeta = "header." + settings.apiKeyHeader
    }

    func decide(_ request: RequestContext) -> PluginContext.MiddlewareDecision {
        let requirement = settings.rules.requirement(forEndpoint: request.endpoint)
        // The common case first: a bearer token verified before, and no API key.
        if let verifier, let authorization = request.header("authorization"), authorization.utf8.count > 7,
           authorization.utf8.starts(with: "Bearer ".utf8), !request.hasMeta(apiKeyMeta),
           let identity = verifier.cachedIdentity(for: String(authorization.dropFirst(7))) {
            return admit(identity, method: "jwt", requirement, request)
        }
        let credentials: Credentials
        do {
            credentials = try Credentials.extract(authorization: request.header("authorization"),
                                                  apiKeyHeaderValue: request.header(settings.apiKeyHeader))
        } catch {
            return .reject(refusal(error, request))
        }
        switch credentials {
        case .none:
            if let failure = requirement.check(nil) { return .reject(refusal(failure, request)) }
            return .next
        case .apiKey(let key):
            do {
                return admit(try settings.apiKeys.identity(forKey: key), method: "api_key", requirement, request)
            } catch {
                return .reject(refusal(error, request))
            }
        case .bearer(let token):
            guard let verifier else {
                return .reject(refusal(AuthFailure("bearer tokens are not accepted here"), request))
            }
            if let identity = verifier.cachedIdentity(for: token) {
                return admit(identity, method: "jwt", requirement, request)
            }
            // A token not verified before: verify off the caller's thread, then decide.
            Task {
                do throws(AuthFailure) {
                    let identity = try await verifier.verify(token)
                    switch admit(identity, method: "jwt", requirement, request) {
                    case .reject(let error): request.reject(error)
                    default: request.proceed()
                    }
                } catch {
                    request.reject(refusal(error, request))
                }
            }
            return .deferred
        }
    }

    private func admit(_ identity: Identity, method: String, _ requirement: Requirement,
                       _ request: RequestContext) -> PluginContext.MiddlewareDecision {
        if let failure = requirement.check(identity) { return .reject(refusal(failure, request)) }
        request.setMeta("auth.subject", identity.subject)
        if let tenant = identity.tenant { request.setMeta("auth.tenant", tenant) }
        if !identity.roles.isEmpty { request.setMeta("auth.roles", identity.roles.joined(separator: ",")) }
        // The token's own claims; the registered ones (RFC 7519 4.1) were checked above and say nothing more.
        for (claim, value) in identity.claims where !Self.registeredClaims.contains(claim) {
            request.setMeta("auth.claims." + claim, value)
        }
        request.setMeta("auth.method", method)
        return .next
    }

    static let registeredClaims: Set<String> = ["iss", "sub", "aud", "exp", "nbf", "iat", "jti"]

    /// 401 with `WWW-Authenticate` (RFC 6750), or 403.
    private func refusal(_ failure: AuthFailure, _ request: RequestContext) -> PluginError {
        guard failure.kind == .unauthenticated else { return .forbidden(failure.reason) }
        var challenge = "Bearer realm=\"\(realm)\""
        if failure != .missingCredentials {
            challenge += ", error=\"invalid_token\", error_description=\"\(failure.reason.replacingOccurrences(of: "\"", with: "'"))\""
        }
        request.setResponseHeader("www-authenticate", challenge)
        return .unauthorized(failure.reason)
    }
}
