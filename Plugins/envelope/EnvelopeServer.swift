import Glibc
import KernelSDK
import NIOCore
import NIOPosix

/// The NIO server both envelope transports share: their own event-loop
/// group, the kernel's listening socket, bounded connections, and a stop
/// that drains. The protocol comes in as `configure`, which builds a new
/// connection's pipeline.
public final class EnvelopeServer: Sendable {
    public let settings: EnvelopeSettings
    private let life: ServerLife
    private let group: MultiThreadedEventLoopGroup
    private let serverChannel: Channel
    private let connections: ConnectionSet

    private init(settings: EnvelopeSettings, life: ServerLife, group: MultiThreadedEventLoopGroup, channel: Channel,
                 connections: ConnectionSet) {
        self.settings = settings
        self.life = life
        self.group = group
        self.serverChannel = channel
        self.connections = connections
    }

    /// Serves on `socket` (a descriptor from `kernel.listen`, owned by the server from now on).
    /// `halfClosure`: a client's FIN reaches the pipeline as `inputClosed`
    /// (it may still want its answers) instead of closing the connection.
    public static func start(settings: EnvelopeSettings, socket: Int32, keepalive: Bool, halfClosure: Bool = false,
                             configure: @escaping @Sendable (Channel, ServerLife) throws -> Void) throws -> EnvelopeServer {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: settings.threads)
        let connections = ConnectionSet()
        let life = ServerLife()
        let bootstrap = ServerBootstrap(group: group)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.socketOption(.so_keepalive), value: keepalive ? 1 : 0)
            .childChannelOption(.maxMessagesPerRead, value: 16)
            .childChannelOption(.allowRemoteHalfClosure, value: halfClosure)
            .childChannelInitializer { channel in
                guard connections.admit(channel, limit: settings.maxConnections) else { return channel.close() }
                return channel.eventLoop.makeCompletedFuture { try configure(channel, life) }
            }
        do {
            let channel = try bootstrap.withBoundSocket(socket).wait()
            return EnvelopeServer(settings: settings, life: life, group: group, channel: channel, connections: connections)
        } catch {
            try? group.syncShutdownGracefully()
            throw PluginError.internal("cannot serve on the kernel's socket: \(error)")
        }
    }

    /// Stops accepting, lets calls in flight finish (idle connections close
    /// at once) within the drain timeout, then cuts the rest and shuts down.
    public func stop() {
        try? serverChannel.close().wait()
        connections.quiesceAll()
        let deadline = NIODeadline.now() + .milliseconds(Int64(settings.drainTimeoutMilliseconds))
        while connections.count > 0 && NIODeadline.now() < deadline {
            usleep(5_000)
        }
        connections.closeAll()
        // Closing cancels the calls still in flight; their completions find the server gone.
        life.end()
        try? group.syncShutdownGracefully()
    }
}
