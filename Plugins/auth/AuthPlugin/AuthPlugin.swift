import AuthCore
import KernelSDK
import MiddlewareKit

/// The `auth` core plugin: JWT bearer tokens (HS256, RS256, ES256, EdDSA;
/// keys from the config or a JWKS file) and hashed API keys, on every
/// protocol; per-endpoint requirements (`rules`). Off until keys or API
/// keys are configured. On success the call carries `auth.subject`,
/// `auth.tenant`, `auth.roles` (comma-separated), `auth.claims.<name>` and
/// `auth.method` (`jwt` or `api_key`).
struct AuthPlugin: Plugin {
    static let name = "auth"
    static let version = "1.0.0"
    static let description = "JWT and API-key authentication, per-endpoint requirements and roles"

    func register(with kernel: PluginContext) async throws {
        let settings: AuthSettings
        do {
            settings = try AuthSettings(config: { kernel.config($0) })
        } catch {
            throw ConfigError("[auth] \(error)")
        }
        guard settings.jwt != nil || settings.apiKeys.count > 0 else {
            kernel.log(.info, "no jwt.keys, jwt.jwks or api_keys configured: authentication is off")
            return
        }
        var verifier: JWTVerifier?
        if let jwt = settings.jwt {
            do {
                verifier = try await JWTVerifier(jwt)
            } catch {
                throw ConfigError("[auth] \(error)")
            }
        }
        for note in verifier?.jwksNotes ?? [] { kernel.log(.warning, "jwks: \(note)") }
        let order = try kernel.order("order", default: -600)
        let gate = AuthGate(settings: settings, verifier: verifier, realm: kernel.config("realm") ?? "kernel")
        let scope = CallScope(kernel, prefix: "")
        kernel.middleware("auth", order: order, endpoints: scope.kernelPattern) { request in
            guard !request.hasMeta("call.preflight"), scope.includesFromOutside(request) else { return .next }
            return gate.decide(request)
        }
        kernel.endpoint("auth.hash_key", description: "The api_keys entry for a new key (operator)") {
            (body: HashRequest, request) throws -> [String: String] in
            try request.requireOperator()
            return ["entry": try APIKeyStore.entry(forKey: body.key, subject: body.subject, roles: body.roles ?? [], tenant: body.tenant)]
        }
    }

    struct HashRequest: Codable, Sendable {
        var key: String
        var subject: String
        var roles: [String]?
        var tenant: String?
    }
}

@_cdecl("kn_plugin_entry")
public func entry(_ host: UnsafeRawPointer?) -> UnsafeRawPointer? { export(AuthPlugin.self, host: host) }
