import KernelSDK
import MiddlewareKit

/// The `[observe]` section.
struct ObserveSettings: Sendable {
    /// Where the middleware runs in the chain; lower is outer (default -1000: first).
    var order: Int32
    /// Which calls it observes (`endpoints`, `protocols`, `methods`).
    var scope: CallScope
    /// `request_id_header` (default x-request-id): read on the way in, set on the way out.
    var requestIDHeader: String
    /// `trust_request_id` (default true): adopt a client's id instead of making one.
    var trustRequestID: Bool
    /// `log` (default on).
    var logEnabled: Bool
    /// `log_file`: append lines there; absent: the kernel's log.
    var logFile: String?
    /// `log_format`: text (default) or json.
    var json: Bool
    /// `log_headers`: request headers to add to each line (comma-separated names).
    var logHeaders: [String]
    /// Never logged in clear: authorization, cookie, set-cookie, plus `redact_headers`.
    var redacted: Set<String>
    /// `server_timing` (default true): a `Server-Timing` header on HTTP.
    var serverTiming: Bool
    /// `error_request_id` (default true): every error's details carry `request_id`.
    var requestIDInErrors: Bool

    init(_ kernel: PluginContext) throws {
        func flag(_ key: String, _ value: Bool) throws -> Bool { try kernel.flag(key, default: value) }
        order = try kernel.order("order", default: -1000)
        scope = CallScope(kernel, prefix: "")
        requestIDHeader = (kernel.config("request_id_header") ?? "x-request-id").lowercased()
        trustRequestID = try flag("trust_request_id", true)
        logEnabled = try flag("log", true)
        logFile = kernel.config("log_file").flatMap { $0.isEmpty ? nil : $0 }
        switch kernel.config("log_format")?.lowercased() ?? "text" {
        case "text": json = false
        case "json": json = true
        case let other: throw ConfigError("[observe] log_format = '\(other)': expected text or json")
        }
        logHeaders = (kernel.config("log_headers") ?? "").split(separator: ",").map { $0.trimmingSpaces.lowercased() }
            .filter { !$0.isEmpty }
        redacted = Set(["authorization", "cookie", "set-cookie", "proxy-authorization"]
            + (kernel.config("redact_headers") ?? "").split(separator: ",").map { $0.trimmingSpaces.lowercased() })
        serverTiming = try flag("server_timing", true)
        requestIDInErrors = try flag("error_request_id", true)
    }
}
