import EnvelopeTransport
import KernelSDK
import NIOCore

/// The core TCP transport: length-prefixed JSON envelopes
/// (Protocols/tcp-framing.md), many calls in flight per connection, streams,
/// on a socket the kernel owns (so a reload keeps the port).
struct TCPPlugin: Plugin {
    static let name = "tcp"
    static let version = "1.0.0"
    static let description = "TCP transport (SwiftNIO): 4-byte length + JSON envelope, pipelined calls and streams"

    private let server = ServerSlot()

    func register(with kernel: PluginContext) throws {
        kernel.transport("tcp", description: Self.description)
    }

    func start(_ kernel: PluginContext) throws {
        let settings = try EnvelopeSettings(kernel, defaultPort: 8081, sizeKey: "max_frame_size")
        let listener = try kernel.listen(host: settings.host, port: settings.port)
        let running = try EnvelopeServer.start(settings: settings, socket: listener.fd, keepalive: true,
                                                 halfClosure: true) { channel, life in
            let sync = channel.pipeline.syncOperations
            try sync.addHandler(IdleStateHandler(allTimeout: .milliseconds(Int64(settings.idleTimeoutMilliseconds))))
            try sync.addHandler(ByteToMessageHandler(FrameDecoder(maxFrameSize: settings.maxMessageSize)))
            try sync.addHandler(TCPConnectionHandler(kernel: kernel, settings: settings, life: life))
        }
        server.set(running)
        kernel.log(.info, "listening on \(settings.host):\(listener.port)")
    }

    func stop(_ kernel: PluginContext) {
        server.take()?.stop()
    }
}

@_cdecl("kn_plugin_entry")
public func entry(_ host: UnsafeRawPointer?) -> UnsafeRawPointer? { export(TCPPlugin.self, host: host) }
