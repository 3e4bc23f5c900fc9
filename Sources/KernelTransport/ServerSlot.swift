import Synchronization

/// The running server of a plugin, set in `start` and taken in `stop`.
///
/// ```swift
/// struct MyTransport: Plugin {
///     private let server = ServerSlot()
///     func stop(_ kernel: PluginContext) async { await server.take()?.stop() }
/// }
/// ```
public final class ServerSlot: Sendable {
    private let server = Mutex<TransportServer?>(nil)
    public init() {}
    public func set(_ server: TransportServer) { self.server.withLock { $0 = server } }
    public func take() -> TransportServer? {
        server.withLock { server in
            defer { server = nil }
            return server
        }
    }
}
