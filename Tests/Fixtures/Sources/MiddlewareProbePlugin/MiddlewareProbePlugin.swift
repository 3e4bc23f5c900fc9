import Foundation
import KernelSDK
import Synchronization

/// What the middleware tests call (Tests/IntegrationTests/Middleware*Tests).
struct MiddlewareProbePlugin: Plugin {
    static let name = "mwprobe"
    static let version = "1.0.0"
    static let description = "Middleware test endpoints"

    struct Person: Codable, Sendable {
        var name: String
        var age: Int
        var email: String?
        var tags: [String]?
    }

    struct Whoami: Codable, Sendable {
        var requestID: String
        var subject: String?
        var tenant: String?
        var roles: String?
        var email: String?
        var protocolName: String
    }

    struct Article: Codable, Sendable {
        var id: String
        var version: Int
        var text: String
    }

    struct Big: Codable, Sendable { var lines: [String] }
    struct Ran: Codable, Sendable { var requestID: String; var innerRequestID: String; var jobID: UInt64 }
    struct Inner: Codable, Sendable { var requestID: String }

    func register(with kernel: PluginContext) async throws {
        let calls = Atomic<Int>(0)

        // A derived schema: name (string) and age (integer) required.
        kernel.endpoint("probe.person") { (person: Person, _) in person }

        // Who the middleware says the caller is.
        kernel.endpoint("probe.whoami") { (_: Empty, request) in
            Whoami(requestID: request.requestID, subject: request.meta("auth.subject"), tenant: request.meta("auth.tenant"),
                   roles: request.meta("auth.roles"), email: request.meta("auth.claims.email"), protocolName: request.protocolName)
        }
        kernel.endpoint("probe.admin") { (_: Empty, request) in ["subject": request.meta("auth.subject") ?? ""] }
        kernel.endpoint("probe.public") { (_: Empty, _) in ["public": true] }

        // Validators for conditional GETs, and the handler's call count (a cached answer does not reach it).
        kernel.endpoint("probe.article", options: EndpointOptions(idempotent: true)) { (_: Empty, request) in
            calls.add(1, ordering: .relaxed)
            let id = request.parameter("id") ?? "0"
            request.etag("v7-\(id)")
            request.lastModified(Date(timeIntervalSince1970: 1_700_000_000))
            request.cacheControl(maxAge: .seconds(60), public: true)
            return Article(id: id, version: 7, text: "article \(id)")
        }
        kernel.route(.get, "/articles/:id", to: "probe.article")
        kernel.endpoint("probe.calls") { (_: Empty, _) in ["calls": calls.load(ordering: .relaxed)] }

        // Large enough to compress.
        kernel.endpoint("probe.big") { (_: Empty, _) in Big(lines: (0..<200).map { "line \($0) of a response that compresses well" }) }

        // An internal error whose message must not reach the client.
        kernel.endpoint("probe.boom") { (_: Empty, _) throws -> Empty in
            struct Secret: Error, CustomStringConvertible { var description: String { "database password is hunter2" } }
            throw Secret()
        }

        // A job and a call caused by the request carry its id.
        kernel.job("probe.job") { (_: Empty, request) in
            request.log(.info, "probe job ran")
        }
        kernel.endpoint("probe.inner") { (_: Empty, request) in Inner(requestID: request.requestID) }
        kernel.endpoint("probe.cause") { (_: Empty, request) async throws -> Ran in
            let id = try await kernel.enqueue("probe.job", Empty())
            let inner: Inner = try await kernel.invoke("probe.inner", Empty())
            return Ran(requestID: request.requestID, innerRequestID: inner.requestID, jobID: id)
        }

        // A plugin's own error handler: rewrites the message of probe.rewrite's failures.
        kernel.endpoint("probe.rewrite") { (_: Empty, _) throws -> Empty in throw PluginError.conflict("original message") }
        kernel.onError("probe.errors", order: 10) { failure in
            guard failure.request.endpoint == "probe.rewrite" else { return }
            failure.rewrite(message: "rewritten for \(failure.request.meta("http.method") ?? failure.request.protocolName) \(failure.code.rawValue)")
        }

        // Lifecycle events.
        let lifecycle = Mutex<[String]>([])
        kernel.on("kernel.started") { _ in lifecycle.withLock { $0.append("started") } }
        kernel.on("kernel.stopping") { _ in
            lifecycle.withLock { $0.append("stopping") }
            kernel.log(.info, "mwprobe heard kernel.stopping")
        }
        kernel.endpoint("probe.lifecycle") { (_: Empty, _) in ["events": lifecycle.withLock { $0 }] }
    }
}

@_cdecl("kn_plugin_entry")
public func entry(_ host: UnsafeRawPointer?) -> UnsafeRawPointer? { export(MiddlewareProbePlugin.self, host: host) }
