import KernelSDK
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// The NIO server: an event-loop group of its own (never a singleton shared
/// with other plugins), the kernel's listening socket, and the connections.
final class HTTPServer: Sendable {
    let settings: HTTPSettings
    let kernel: PluginContext
    private let group: MultiThreadedEventLoopGroup
    private let serverChannel: Channel
    private let connections: ConnectionSet

    private init(settings: HTTPSettings, kernel: PluginContext, group: MultiThreadedEventLoopGroup, channel: Channel,
                 connections: ConnectionSet) {
        self.settings = settings
        self.kernel = kernel
        self.group = group
        self.serverChannel = channel
        self.connections = connections
    }

    static func start(settings: HTTPSettings, socket: Int32, kernel: PluginContext) throws -> HTTPServer {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: settings.threads)
        let connections = ConnectionSet()
        let bootstrap = ServerBootstrap(group: group)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.maxMessagesPerRead, value: 16)
            .childChannelInitializer { channel in
                guard connections.add(channel, limit: settings.maxConnections) else {
                    return channel.close()
                }
                channel.closeFuture.whenComplete { _ in connections.remove(channel) }
                return channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    try sync.configureHTTPServerPipeline(withPipeliningAssistance: true, withErrorHandling: false)
                    try sync.addHandler(IdleStateHandler(
                        allTimeout: .milliseconds(Int64(settings.keepAliveTimeoutMilliseconds))))
                    try sync.addHandler(HTTPConnectionHandler(settings: settings, kernel: kernel))
                }
            }
        do {
            let channel = try bootstrap.withBoundSocket(socket).wait()
            return HTTPServer(settings: settings, kernel: kernel, group: group, channel: channel, connections: connections)
        } catch {
            try? group.syncShutdownGracefully()
            throw PluginError.internal("cannot serve on the kernel's socket: \(error)")
        }
    }

    /// Stops accepting, lets requests in flight finish (closing idle
    /// keep-alive connections at once), then shuts the event loops down.
    func stop() {
        try? serverChannel.close().wait()
        connections.quiesceAll()
        let deadline = NIODeadline.now() + .milliseconds(Int64(settings.drainTimeoutMilliseconds))
        while connections.count > 0 && NIODeadline.now() < deadline {
            usleep(5_000)
        }
        connections.closeAll()
        try? group.syncShutdownGracefully()
    }
}

/// Open connections, to bound them and to drain them on stop.
final class ConnectionSet: Sendable {
    private let channels = Mutex<[ObjectIdentifier: Channel]>([:])

    var count: Int { channels.withLock { $0.count } }

    func add(_ channel: Channel, limit: Int) -> Bool {
        channels.withLock { channels in
            guard channels.count < limit else { return false }
            channels[ObjectIdentifier(channel)] = channel
            return true
        }
    }

    func remove(_ channel: Channel) { _ = channels.withLock { $0.removeValue(forKey: ObjectIdentifier(channel)) } }

    func quiesceAll() {
        for channel in channels.withLock({ Array($0.values) }) {
            channel.pipeline.fireUserInboundEventTriggered(HTTPConnectionHandler.Quiesce())
        }
    }

    func closeAll() {
        for channel in channels.withLock({ Array($0.values) }) { channel.close(promise: nil) }
    }
}

import Glibc
