import KernelSDK
import NIOCore

/// The configuration section of an envelope transport (`[ws]` or `[tcp]`),
/// with its defaults. Protocols/ws-envelope.md and tcp-framing.md list the keys.
public struct EnvelopeSettings: Sendable {
    public var host = "0.0.0.0"
    public var port: UInt16
    /// Largest message (WS, key `max_message_size`) or frame (TCP, key `max_frame_size`).
    public var maxMessageSize = 1 << 20
    /// A connection with no traffic and no call in flight is closed after this.
    public var idleTimeoutMilliseconds = 60_000
    /// Connections past this are closed at once.
    public var maxConnections = 10_000
    /// Items a stream may have queued towards a slow client; past it `call_send` is refused.
    public var streamQueue = 64
    /// Calls one connection may have in flight; past it a new call is refused with `unavailable`.
    public var maxInFlight = 1_000
    /// How long `stop` lets calls in flight finish before cutting connections.
    public var drainTimeoutMilliseconds = 10_000
    /// Event-loop threads.
    public var threads = System.coreCount

    /// Reads `kernel`'s section; `sizeKey` names the size limit of the protocol.
    public init(_ kernel: PluginContext, defaultPort: UInt16, sizeKey: String) throws {
        port = defaultPort
        if let value = kernel.config("host") { host = value }
        if let value = kernel.config("port") {
            guard let port = UInt16(value) else { throw PluginError.invalidArgument("port: '\(value)' is not a port") }
            self.port = port
        }
        maxMessageSize = max(64, kernel.config(sizeKey, default: maxMessageSize))
        idleTimeoutMilliseconds = max(10, kernel.config("idle_timeout_ms", default: idleTimeoutMilliseconds))
        maxConnections = kernel.config("max_connections", default: maxConnections)
        streamQueue = max(1, kernel.config("stream_queue", default: streamQueue))
        maxInFlight = max(1, kernel.config("max_inflight", default: maxInFlight))
        drainTimeoutMilliseconds = kernel.config("drain_timeout_ms", default: drainTimeoutMilliseconds)
        threads = max(1, kernel.config("threads", default: threads))
    }
}
