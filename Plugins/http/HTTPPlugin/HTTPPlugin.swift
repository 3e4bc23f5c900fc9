import KernelSDK
import KernelTransport
import NIOCore
import NIOHTTP1

/// The core HTTP transport: serves every endpoint at `POST /api/<name>` and
/// the routes plugins register, streams as Server-Sent Events,
/// newline-delimited JSON or as the handler framed them, on a socket the kernel owns
/// (Protocols/http-transport.md).
struct HTTPPlugin: Plugin {
    static let name = "http"
    static let version = "1.2.0"
    static let description = "HTTP/1.1 transport (SwiftNIO): POST /api/<endpoint>, registered routes, streams (SSE, NDJSON, raw), /healthz"

    private let server = ServerSlot()

    func register(with kernel: PluginContext) async throws {
        kernel.transport("http", description: Self.description)
    }

    func start(_ kernel: PluginContext) async throws {
        let settings = try HTTPSettings(kernel)
        let running = try await TransportServer.start(kernel, settings: settings.server) { channel, life in
            let sync = channel.pipeline.syncOperations
            try sync.configureHTTPServerPipeline(withPipeliningAssistance: true, withErrorHandling: false)
            try sync.addHandler(IdleStateHandler(allTimeout: settings.keepAliveTimeout.timeAmount))
            try sync.addHandler(HTTPConnectionHandler(settings: settings, kernel: kernel, life: life))
        }
        server.set(running)
    }

    func stop(_ kernel: PluginContext) async {
        await server.take()?.stop()
    }
}

@_cdecl("kn_plugin_entry")
public func entry(_ host: UnsafeRawPointer?) -> UnsafeRawPointer? { export(HTTPPlugin.self, host: host) }
