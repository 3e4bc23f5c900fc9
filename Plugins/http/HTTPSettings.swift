import KernelSDK

/// The `[http]` configuration section, with its defaults.
struct HTTPSettings: Sendable {
    var host = "0.0.0.0"
    var port: UInt16 = 8080
    /// Largest request body; past it: 413.
    var maxBodySize = 1 << 20
    /// Largest request line plus headers; past it: 431.
    var maxHeaderSize = 16 << 10
    /// From the request head to the response; past it: 504.
    var requestTimeoutMilliseconds = 30_000
    /// An idle keep-alive connection is closed after this.
    var keepAliveTimeoutMilliseconds = 60_000
    /// Connections past this are closed at once.
    var maxConnections = 10_000
    /// Event-loop threads.
    var threads = System.coreCount
    /// How long `stop` waits for requests in flight before closing.
    var drainTimeoutMilliseconds = 10_000
    /// On stop, how long an idle keep-alive connection is left open for a
    /// request already on its way (answered with `connection: close`).
    var quiesceGraceMilliseconds = 1_000

    init(_ kernel: PluginContext) throws {
        if let value = kernel.config("host") { host = value }
        if let value = kernel.config("port") {
            guard let port = UInt16(value) else { throw PluginError.invalidArgument("http.port: '\(value)' is not a port") }
            self.port = port
        }
        maxBodySize = kernel.config("max_body_size", default: maxBodySize)
        maxHeaderSize = kernel.config("max_header_size", default: maxHeaderSize)
        requestTimeoutMilliseconds = kernel.config("request_timeout_ms", default: requestTimeoutMilliseconds)
        keepAliveTimeoutMilliseconds = kernel.config("keepalive_timeout_ms", default: keepAliveTimeoutMilliseconds)
        maxConnections = kernel.config("max_connections", default: maxConnections)
        threads = max(1, kernel.config("threads", default: threads))
        drainTimeoutMilliseconds = kernel.config("drain_timeout_ms", default: drainTimeoutMilliseconds)
        quiesceGraceMilliseconds = kernel.config("quiesce_grace_ms", default: quiesceGraceMilliseconds)
    }
}

import NIOCore
