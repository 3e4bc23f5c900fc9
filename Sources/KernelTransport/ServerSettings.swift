import KernelSDK
import NIOCore

/// What every transport's configuration section has, with its defaults:
/// `host`, `port`, `max_connections`, `threads`, `drain_timeout_ms`, `send_buffer`.
///
/// ```swift
/// var settings = try ServerSettings(kernel, defaultPort: 8081)
/// settings.maxConnections = 100   // before starting the server
/// ```
public struct ServerSettings: Sendable {
    public var host = "0.0.0.0"
    public var port: UInt16
    /// Connections past this are closed at once.
    public var maxConnections = 10_000
    /// Event-loop threads.
    public var threads = System.coreCount
    /// How long `stop` lets calls in flight finish before cutting connections.
    public var drainTimeout: Duration = .seconds(10)
    /// SO_SNDBUF of each connection in bytes; nil leaves the system's
    /// autotuning. A small one holds a slow reader's data in the stream queue.
    public var sendBuffer: Int?

    /// Reads `kernel`'s configuration section; a bad port is an error.
    public init(_ kernel: PluginContext, defaultPort: UInt16) throws(PluginError) {
        port = defaultPort
        if let value = kernel.config("host") { host = value }
        if let value = kernel.config("port") {
            guard let port = UInt16(value) else { throw PluginError.invalidArgument("port: '\(value)' is not a port") }
            self.port = port
        }
        maxConnections = max(1, kernel.config("max_connections", default: maxConnections))
        threads = max(1, kernel.config("threads", default: threads))
        drainTimeout = kernel.config("drain_timeout_ms", default: drainTimeout)
        sendBuffer = kernel.config("send_buffer").flatMap(Int.init).map { max(1_024, $0) }
    }
}

extension Duration {
    /// The span as NIO's `TimeAmount`.
    public var timeAmount: TimeAmount {
        let (seconds, attoseconds) = components
        return .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}
