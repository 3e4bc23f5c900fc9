import KernelSDK
import KernelTransport

/// The `[http]` configuration section, with its defaults
/// (Protocols/http-transport.md lists the keys).
struct HTTPSettings: Sendable {
    /// host, port, max_connections, threads, drain_timeout_ms.
    var server: ServerSettings
    /// Largest request body; past it: 413.
    var maxBodySize = 1 << 20
    /// Largest request line plus headers; past it: 431.
    var maxHeaderSize = 16 << 10
    /// From the request head to the response (to its first byte for a stream); past it: 504.
    var requestTimeout: Duration = .seconds(30)
    /// An idle keep-alive connection is closed after this.
    var keepAliveTimeout: Duration = .seconds(60)
    /// On stop, how long an idle keep-alive connection is left open for a
    /// request already on its way (answered with `connection: close`).
    var quiesceGrace: Duration = .seconds(1)
    /// Stream items queued towards a slow client; past it the handler waits.
    var streamQueue = 64
    /// Whole responses at least this large are compressed (gzip or deflate,
    /// per Accept-Encoding) when their type is text-like; 0: never.
    var compressMinSize = 1024

    init(_ kernel: PluginContext) throws(PluginError) {
        server = try ServerSettings(kernel, defaultPort: 8080)
        maxBodySize = kernel.config("max_body_size", default: maxBodySize)
        maxHeaderSize = kernel.config("max_header_size", default: maxHeaderSize)
        requestTimeout = kernel.config("request_timeout_ms", default: requestTimeout)
        keepAliveTimeout = kernel.config("keepalive_timeout_ms", default: keepAliveTimeout)
        quiesceGrace = kernel.config("quiesce_grace_ms", default: quiesceGrace)
        streamQueue = max(1, kernel.config("stream_queue", default: streamQueue))
        compressMinSize = max(0, kernel.config("compress_min_size", default: compressMinSize))
        if let compress = kernel.config("compress"), ["false", "off", "no", "0"].contains(compress.lowercased()) { compressMinSize = 0 }
    }
}
