import KernelSDK
import Synchronization

/// The sample Swift plugin: an endpoint, a route with a parameter, a
/// middleware, a job and an event handler, and endpoints to watch them run.
struct HelloPlugin: Plugin {
    static let name = "hello"
    static let version = "1.0.0"
    static let description = "Sample plugin: hello, greet, hello.user, a middleware, a job and an event handler"

    private let stats = Stats()

    func register(with kernel: PluginContext) async throws {
        // The simplest endpoint: POST /api/hello → {"message":"hello"}.
        kernel.endpoint("hello", description: "Says hello") { (_: Empty, _) in
            Message(message: "hello")
        }

        // A request body, and a validation error with field details.
        kernel.endpoint("greet", description: "Greets {name}") { (request: GreetRequest, _) in
            guard !request.name.isEmpty else { throw PluginError.validation(field: "name", "must not be empty") }
            return Message(message: "hello, \(request.name)")
        }

        // A route with a path parameter: GET /hello/users/42. (The users
        // sample owns users.* and /users.)
        kernel.endpoint("hello.user", description: "Echoes a user id from the path") { (_: Empty, request) in
            guard let id = request.parameter("id"), !id.isEmpty else { throw PluginError.invalidArgument("id is required") }
            return User(id: id)
        }
        kernel.route(.get, "/hello/users/:id", to: "hello.user")

        // Fails with the status named in the body, to see each mapped by the transports.
        kernel.endpoint("hello.fail", description: "Fails with {code}") { (request: FailRequest, _) -> Empty in
            guard let code = PluginError.Code(rawValue: request.code) else {
                throw PluginError.invalidArgument("unknown code '\(request.code)'")
            }
            throw PluginError(code, "failed on purpose with \(code.rawValue)")
        }

        // A middleware on every call, whatever the protocol.
        kernel.middleware("hello.headers", order: 100) { request in
            if request.header("x-deny") != nil { return .reject(.unauthorized("x-deny header present")) }
            request.setResponseHeader("x-hello-middleware", "1")
            return .next
        }

        // A job and an event handler, and an endpoint that sets both off.
        let stats = self.stats
        kernel.job("hello.report") { (report: Report, _) in
            stats.jobsRun.add(1, ordering: .relaxed)
            kernel.log(.info, "report job ran: \(report.note)")
        }
        kernel.on("greetings.#") { event in
            stats.eventsReceived.add(1, ordering: .relaxed)
            kernel.log(.debug, "event \(event.topic) #\(event.id) from \(event.publisher)")
        }
        kernel.endpoint("hello.trigger", description: "Enqueues hello.report and publishes greetings.hi") { (_: Empty, _) in
            let job = try await kernel.enqueue("hello.report", Report(note: "triggered"))
            try kernel.publish("greetings.hi", Message(message: "hi"))
            return Triggered(job: job)
        }
        // Background work: a job now, one in five minutes, and two schedules
        // (durable and operable with `kernelctl jobs|schedules` when the
        // scheduler plugin is loaded).
        kernel.endpoint("hello.later", description: "Enqueues hello.report now and in five minutes") { (_: Empty, _) in
            let now = try await kernel.enqueue("hello.report", Report(note: "now"))
            let later = try await kernel.enqueue("hello.report", Report(note: "five minutes later"), delay: .minutes(5))
            return ["now": now, "later": later]
        }
        kernel.schedule("hello.nightly", cron: "30 2 * * *", job: "hello.report", payload: Report(note: "nightly"),
                        timeZone: "Europe/Berlin")
        kernel.schedule("hello.heartbeat", every: .minutes(15), job: "hello.report", payload: Report(note: "heartbeat"))
        kernel.endpoint("hello.stats", description: "How many jobs and events ran") { (_: Empty, _) in
            StatsResponse(jobsRun: stats.jobsRun.load(ordering: .relaxed),
                          eventsReceived: stats.eventsReceived.load(ordering: .relaxed))
        }

        // Streams over ws and tcp: hello.ticker, hello.chat, hello.echo, hello.streams (HelloStreams.swift).
        registerStreams(with: kernel)
    }
}

final class Stats: Sendable {
    let jobsRun = Atomic<Int>(0)
    let eventsReceived = Atomic<Int>(0)
}

struct Message: Codable, Sendable { var message: String }
struct GreetRequest: Codable, Sendable { var name: String }
struct User: Codable, Sendable { var id: String }
struct FailRequest: Codable, Sendable { var code: String }
struct Report: Codable, Sendable { var note: String }
struct Triggered: Codable, Sendable { var job: UInt64 }
struct StatsResponse: Codable, Sendable {
    var jobsRun: Int
    var eventsReceived: Int
}

@_cdecl("kn_plugin_entry")
public func entry(_ host: UnsafeRawPointer?) -> UnsafeRawPointer? { export(HelloPlugin.self, host: host) }
