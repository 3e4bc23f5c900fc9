import KernelSDK
import NIOCore
import NIOPosix
import Synchronization

/// A transport's server: its own event-loop group (never a singleton shared
/// with other plugins), a listening socket the kernel owns (kept across
/// reloads, so no connection is refused while the transport is replaced),
/// bounded connections, and a stop that drains.
///
/// ```swift
/// func start(_ kernel: PluginContext) async throws {
///     let settings = try ServerSettings(kernel, defaultPort: 8081)
///     let server = try await TransportServer.start(kernel, settings: settings) { channel, life in
///         try channel.pipeline.syncOperations.addHandler(MyProtocolHandler(kernel: kernel, life: life))
///     }
///     running.set(server)
/// }
/// func stop(_ kernel: PluginContext) async { await running.take()?.stop() }
/// ```
///
/// `configure` builds a new connection's pipeline on its event loop.
public final class TransportServer: Sendable {
    public let settings: ServerSettings
    /// The port the kernel's socket is bound to (useful when `port` was 0).
    public let port: UInt16
    private let life: ServerLife
    private let group: MultiThreadedEventLoopGroup
    private let serverChannel: Channel
    private let connections: ConnectionSet

    private init(settings: ServerSettings, port: UInt16, life: ServerLife, group: MultiThreadedEventLoopGroup,
                 channel: Channel, connections: ConnectionSet) {
        self.settings = settings
        self.port = port
        self.life = life
        self.group = group
        self.serverChannel = channel
        self.connections = connections
    }

    /// Options of accepted connections.
    public struct ConnectionOptions: Sendable {
        /// TCP keepalive probes (long-lived connections with quiet periods).
        public var keepalive = false
        /// A client's FIN reaches the pipeline as `ChannelEvent.inputClosed`
        /// (it may still want its answers) instead of closing the connection.
        public var halfClosure = false
        public init(keepalive: Bool = false, halfClosure: Bool = false) {
            self.keepalive = keepalive
            self.halfClosure = halfClosure
        }
    }

    /// Asks the kernel for its listener on `settings.host:port` and serves on it.
    public static func start(
        _ kernel: PluginContext, settings: ServerSettings, options: ConnectionOptions = ConnectionOptions(),
        configure: @escaping @Sendable (Channel, ServerLife) throws -> Void
    ) async throws(PluginError) -> TransportServer {
        let listener = try kernel.listen(host: settings.host, port: settings.port)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: settings.threads)
        let connections = ConnectionSet()
        let life = ServerLife()
        var bootstrap = ServerBootstrap(group: group)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.socketOption(.so_keepalive), value: options.keepalive ? 1 : 0)
            .childChannelOption(.maxMessagesPerRead, value: 16)
            .childChannelOption(.allowRemoteHalfClosure, value: options.halfClosure)
            .childChannelInitializer { channel in
                guard connections.admit(channel, limit: settings.maxConnections) else { return channel.close() }
                return channel.eventLoop.makeCompletedFuture { try configure(channel, life) }
            }
        if let size = settings.sendBuffer {
            bootstrap = bootstrap.childChannelOption(.socketOption(.so_sndbuf), value: SocketOptionValue(size))
        }
        do {
            let channel = try await bootstrap.withBoundSocket(listener.fd).get()
            kernel.log(.info, "listening on \(settings.host):\(listener.port)")
            return TransportServer(settings: settings, port: listener.port, life: life, group: group, channel: channel,
                                   connections: connections)
        } catch {
            try? await group.shutdownGracefully()
            throw PluginError.internal("cannot serve on the kernel's socket: \(error)")
        }
    }

    /// Open connections.
    public var connectionCount: Int { connections.count }

    /// Stops accepting, sends `QuiesceEvent` to every connection, waits
    /// until the last one closes or `drainTimeout` passes, cuts the rest,
    /// and shuts the event loops down.
    public func stop() async {
        try? await serverChannel.close()
        connections.quiesceAll()
        let connections = connections
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await connections.waitUntilEmpty() }
            group.addTask { try? await Task.sleep(for: self.settings.drainTimeout) }
            await group.next()
            // Drained, or out of time: cut what is left. Closing the last
            // connection is also what ends the wait still in the group.
            connections.closeAll()
            group.cancelAll()
        }
        // Completions that arrive from now on find the server gone instead of a dead event loop.
        life.end()
        try? await group.shutdownGracefully()
    }
}
