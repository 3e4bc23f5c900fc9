import EnvelopeTransport
import KernelSDK
import KernelTransport
import NIOCore
import NIOHTTP1
import NIOWebSocket

/// The core WebSocket transport: RFC 6455 on SwiftNIO, a JSON envelope per
/// text message (Protocols/ws-envelope.md), many calls in flight per
/// connection, streams, on a socket the kernel owns (so a reload keeps the port).
struct WSPlugin: Plugin {
    static let name = "ws"
    static let version = "1.0.0"
    static let description = "WebSocket transport (SwiftNIO, RFC 6455): JSON envelope, concurrent calls and streams"

    private let server = ServerSlot()

    func register(with kernel: PluginContext) async throws {
        kernel.transport("ws", description: Self.description)
    }

    func start(_ kernel: PluginContext) async throws {
        let settings = try WSSettings(kernel)
        let running = try await TransportServer.start(kernel, settings: settings.envelope.server) { channel, life in
            try Self.configure(channel, settings: settings, kernel: kernel, life: life)
        }
        server.set(running)
    }

    func stop(_ kernel: PluginContext) async {
        await server.take()?.stop()
    }

    /// HTTP until the upgrade; then frames. Requests that are not an upgrade
    /// reach `PlainHTTPHandler`, which the upgrade removes.
    private static func configure(_ channel: Channel, settings: WSSettings, kernel: PluginContext, life: ServerLife) throws {
        let upgrader = NIOWebSocketServerUpgrader(
            maxFrameSize: settings.envelope.maxMessageSize,
            automaticErrorHandling: false, // WSConnectionHandler picks the close code
            shouldUpgrade: { channel, request in
                var headers = HTTPHeaders()
                if settings.deflate, let agreement = DeflateAgreement.negotiate(request.headers) {
                    headers.add(name: "Sec-WebSocket-Extensions", value: agreement.responseHeader)
                }
                return channel.eventLoop.makeSucceededFuture(headers)
            },
            upgradePipelineHandler: { channel, request in
                channel.eventLoop.makeCompletedFuture {
                    // The same request, the same answer as in shouldUpgrade.
                    let deflate = try (settings.deflate ? DeflateAgreement.negotiate(request.headers) : nil)
                        .map { try DeflateStream($0, minimumSize: settings.deflateMinimumSize) }
                    let sync = channel.pipeline.syncOperations
                    _ = try? sync.removeHandler(sync.handler(type: PlainHTTPHandler.self))
                    // From here on the connection keeps its own idle and ping clock (WSLiveness).
                    _ = try? sync.removeHandler(sync.handler(type: IdleStateHandler.self))
                    try sync.addHandler(WSConnectionHandler(kernel: kernel, settings: settings, deflate: deflate, life: life))
                }
            })
        let sync = channel.pipeline.syncOperations
        try sync.addHandler(IdleStateHandler(allTimeout: settings.envelope.idleTimeout.timeAmount))
        // Until it upgrades, a connection lives at most the idle timeout, however
        // slowly its bytes trickle in (slowloris); the upgrade removes PlainHTTPHandler.
        let upgradeDeadline = channel.eventLoop.scheduleTask(in: settings.envelope.idleTimeout.timeAmount) { [weak channel] in
            guard let channel, (try? channel.pipeline.syncOperations.handler(type: PlainHTTPHandler.self)) != nil else { return }
            channel.close(promise: nil)
        }
        channel.closeFuture.whenComplete { _ in upgradeDeadline.cancel() }
        try sync.configureHTTPServerPipeline(
            withServerUpgrade: (upgraders: [upgrader], completionHandler: { _ in }), withErrorHandling: true)
        try sync.addHandler(PlainHTTPHandler())
    }
}

@_cdecl("kn_plugin_entry")
public func entry(_ host: UnsafeRawPointer?) -> UnsafeRawPointer? { export(WSPlugin.self, host: host) }
