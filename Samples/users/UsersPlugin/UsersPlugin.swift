import Foundation
import KernelSDK

/// The users service of the seed document as a plugin on the storage
/// service: create, get, search, update and soft delete, over any
/// transport (POST /api/users.create ...) and REST routes.
struct UsersPlugin: Plugin {
    static let name = "users"
    static let version = "1.0.0"
    static let description = "Sample application: users on the storage service (SQL, soft delete, audit log)"
    static let dependsOn = ["storage"]

    func register(with kernel: PluginContext) async throws {
        let store = UserStore(storage: try kernel.storage())
        // Tables first: endpoints become live when register returns.
        do {
            try await store.migrate()
        } catch {
            throw PluginError(.unavailable, "users: migrations failed: \(error)")
        }

        kernel.endpoint("users.create", description: "Creates a user {username, email, status?}") {
            (request: CreateUser, _) async throws in
            try await store.create(try request.validated())
        }
        kernel.endpoint("users.get", description: "A user by {id}") { (request: UserID, context) async throws in
            try await store.get(try request.id(from: context))
        }
        kernel.endpoint("users.search", description: "Users by {query, status, created_after}, paginated {page, limit}") {
            (request: SearchUsers, context) async throws in
            try await store.search(try request.merging(query: context.meta("http.query")).validated())
        }
        kernel.endpoint("users.update", description: "Changes {username, email, status} of user {id}") {
            (request: UpdateUser, context) async throws in
            var request = request
            request.id = try UserID(id: request.id).id(from: context)
            return try await store.update(try request.validated())
        }
        kernel.endpoint("users.delete", description: "Soft-deletes user {id}") { (request: UserID, context) async throws in
            try await store.delete(try request.id(from: context))
            return Deleted(id: try request.id(from: context), deleted: true)
        }

        kernel.route(.post, "/users", to: "users.create")
        kernel.route(.get, "/users", to: "users.search")
        kernel.route(.get, "/users/:id", to: "users.get")
        kernel.route(.patch, "/users/:id", to: "users.update")
        kernel.route(.delete, "/users/:id", to: "users.delete")
    }
}

@_cdecl("kn_plugin_entry")
public func entry(_ host: UnsafeRawPointer?) -> UnsafeRawPointer? { export(UsersPlugin.self, host: host) }
