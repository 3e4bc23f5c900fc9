import Hummingbird

/// The peer of the kernel's HTTP benchmarks: the same three requests,
/// answered by a plain Hummingbird 2 application.
struct Message: ResponseEncodable { let message: String }
struct User: ResponseEncodable { let id: String }

let port = CommandLine.arguments.dropFirst().first.flatMap(Int.init) ?? 8090
let router = Router()
router.post("api/hello") { _, _ in Message(message: "hello") }
router.post("api/echo") { request, _ -> Response in
    let body = try await request.body.collect(upTo: 1 << 20)
    return Response(status: .ok, headers: [.contentType: "application/octet-stream"], body: .init(byteBuffer: body))
}
router.get("users/:id") { _, context in User(id: context.parameters.get("id") ?? "") }

let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)))
try await app.runService()
