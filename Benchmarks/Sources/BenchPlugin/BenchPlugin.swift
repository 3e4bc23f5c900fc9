import KernelSDK

/// The endpoints the HTTP benchmarks call besides the sample's `hello`:
/// an echo of the request body and a route with a path parameter.
struct BenchPlugin: Plugin {
    static let name = "bench"
    static let version = "1.0.0"
    static let description = "Benchmark endpoints: bench.echo, GET /bench/users/:id"

    func register(with kernel: PluginContext) throws {
        kernel.endpoint("bench.echo") { (_: Empty, request) in
            RawResponse(request.body, contentType: "application/octet-stream")
        }
        kernel.endpoint("bench.user") { (_: Empty, request) in
            User(id: request.parameter("id") ?? "")
        }
        kernel.route("GET", "/bench/users/:id", to: "bench.user")
    }
}

struct User: Codable, Sendable { var id: String }

@_cdecl("kn_plugin_entry")
public func entry(_ host: UnsafeRawPointer?) -> UnsafeRawPointer? { export(BenchPlugin.self, host: host) }
