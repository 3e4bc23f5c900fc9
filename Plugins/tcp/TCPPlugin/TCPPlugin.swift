import EnvelopeTransport
import KernelSDK
import KernelTransport
import NIOCore

/// The core TCP transport: length-prefixed JSON envelopes
/// (Protocols/tcp-framing.md), many calls in flight per connection, streams,
/// on a socket the kernel owns (so a reload keeps the port).
struct TCPPlugin: Plugin {
    static let name = "tcp"
    static let version = "1.0.0"
    static let description = "TCP transport (SwiftNIO): 4-byte length + JSON envelope, pipelined calls and streams"

    private let server = ServerSlot()

    func register(with kernel: PluginContext) async throws {
        kernel.transport("tcp", description: Self.description)
    }

    func start(_ kernel: PluginContext) async throws {
        let settings = try EnvelopeSettings(kernel, defaultPort: 8081, sizeKey: "max_frame_size")
        let options = TransportServer.ConnectionOptions(keepalive: true, halfClosure: true)
        let running = try await TransportServer.start(kernel, settings: settings.server, options: options) { channel, life in
            let sync = channel.pipeline.syncOperations
            try sync.addHandler(IdleStateHandler(allTimeout: settings.idleTimeout.timeAmount))
            try sync.addHandler(ByteToMessageHandler(FrameDecoder(maxFrameSize: settings.maxMessageSize)))
            try sync.addHandler(TCPConnectionHandler(kernel: kernel, settings: settings, life: life))
        }
        server.set(running)
    }

    func stop(_ kernel: PluginContext) async {
        await server.take()?.stop()
    }
}

@_cdecl("kn_plugin_entry")
public func entry(_ host: UnsafeRawPointer?) -> UnsafeRawPointer? { export(TCPPlugin.self, host: host) }
