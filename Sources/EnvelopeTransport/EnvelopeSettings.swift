import KernelSDK
import KernelTransport

/// The configuration section of an envelope transport (`[ws]` or `[tcp]`),
/// with its defaults. Protocols/ws-envelope.md and tcp-framing.md list the keys.
package struct EnvelopeSettings: Sendable {
    /// host, port, max_connections, threads, drain_timeout_ms.
    package var server: ServerSettings
    /// Largest message (WS, key `max_message_size`) or frame (TCP, key `max_frame_size`).
    package var maxMessageSize = 1 << 20
    /// A connection with no traffic and no call in flight is closed after this.
    package var idleTimeout: Duration = .seconds(60)
    /// Items a stream may have queued towards a slow client; past it the handler waits.
    package var streamQueue = 64
    /// Calls one connection may have in flight; past it a new call is refused with `unavailable`.
    package var maxInFlight = 1_000

    /// Reads `kernel`'s section; `sizeKey` names the size limit of the protocol.
    package init(_ kernel: PluginContext, defaultPort: UInt16, sizeKey: String) throws(PluginError) {
        server = try ServerSettings(kernel, defaultPort: defaultPort)
        maxMessageSize = max(64, kernel.config(sizeKey, default: maxMessageSize))
        idleTimeout = max(.milliseconds(10), kernel.config("idle_timeout_ms", default: idleTimeout))
        streamQueue = max(1, kernel.config("stream_queue", default: streamQueue))
        maxInFlight = max(1, kernel.config("max_inflight", default: maxInFlight))
    }
}
