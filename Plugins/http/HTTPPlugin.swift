import KernelSDK
import Synchronization

/// The core HTTP transport: serves every endpoint at `POST /api/<name>` and
/// the routes plugins register, on a socket the kernel owns.
struct HTTPPlugin: Plugin {
    static let name = "http"
    static let version = "1.0.0"
    static let description = "HTTP/1.1 transport (SwiftNIO): POST /api/<endpoint>, registered routes, /healthz"

    private let server = ServerSlot()

    func register(with kernel: PluginContext) throws {
        kernel.transport("http", description: Self.description)
    }

    func start(_ kernel: PluginContext) throws {
        let settings = try HTTPSettings(kernel)
        let listener = try kernel.listen(host: settings.host, port: settings.port)
        let server = try HTTPServer.start(settings: settings, socket: listener.fd, kernel: kernel)
        self.server.value.withLock { $0 = server }
        kernel.log(.info, "listening on \(settings.host):\(listener.port)")
    }

    func stop(_ kernel: PluginContext) {
        let server = self.server.value.withLock { server in
            defer { server = nil }
            return server
        }
        server?.stop()
    }
}

/// The running server, set in start and taken in stop.
final class ServerSlot: Sendable {
    let value = Mutex<HTTPServer?>(nil)
}

@_cdecl("kn_plugin_entry")
public func entry(_ host: UnsafeRawPointer?) -> UnsafeRawPointer? { export(HTTPPlugin.self, host: host) }
