import KernelSDK

/// Who receives: the `auth.*` metadata of the call that subscribed, read
/// once. The default rule (Protocols/pubsub.md, "Authorization"): an event
/// with a tenant reaches that tenant only; one with a user reaches that
/// user only, or an admin role of the same tenant. Operators (the admin
/// socket) see everything.
struct Viewer: Sendable {
    var user: String?
    var tenant: String?
    var roles: Set<String>
    var protocolName: String
    var rolesText: String?

    init(_ request: RequestContext) {
        user = request.meta("auth.subject")
        tenant = request.meta("auth.tenant")
        rolesText = request.meta("auth.roles")
        roles = Set((rolesText ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
        protocolName = request.protocolName
    }

    init(user: String?, tenant: String?, roles: String?, protocolName: String) {
        self.user = user
        self.tenant = tenant
        rolesText = roles
        self.roles = Set((roles ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
        self.protocolName = protocolName
    }

    var isOperator: Bool { protocolName == "admin" }

    func mayRead(_ event: StoredEvent, adminRoles: Set<String>) -> Bool {
        if isOperator { return true }
        if let tenant = event.tenant, tenant != self.tenant { return false }
        if let user = event.user, user != self.user, roles.isDisjoint(with: adminRoles) { return false }
        return true
    }
}
