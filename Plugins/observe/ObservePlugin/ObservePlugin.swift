import KernelSDK
import MiddlewareKit

/// The `observe` core plugin: request ids, one access-log line per call,
/// `Server-Timing`, per-endpoint latency, and the request id in every error.
/// On by default; every key of `[observe]` is in README "Middleware".
struct ObservePlugin: Plugin {
    static let name = "observe"
    static let version = "1.0.0"
    static let description = "Request ids, access log, Server-Timing and latency per endpoint, request ids in errors"

    private let runtime = ObserveRuntime()

    func register(with kernel: PluginContext) async throws {
        let settings = try ObserveSettings(kernel)
        let writer = try settings.logFile.map { try LogWriter(path: $0) }
        let log = AccessLog(settings: settings, writer: writer, kernel: kernel)
        let latency = LatencyTable()
        runtime.writer = writer
        let scope = settings.scope
        let ids = RequestIDs(header: settings.requestIDHeader, trustIncoming: settings.trustRequestID)

        kernel.middleware("observe", order: settings.order, endpoints: scope.kernelPattern) { request in
            guard scope.isEverything || scope.includes(request) else { return .next }
            let id = ids.adopt(request)
            let start = ContinuousClock.now
            let bytesIn = request.bodyCount
            request.onComplete { outcome in
                let elapsed = ContinuousClock.now - start
                if settings.serverTiming, request.isHTTP {
                    request.setResponseMeta("header.server-timing", "app;dur=" + AccessLog.milliseconds(elapsed))
                }
                latency.record(request.endpoint, elapsed, failed: !outcome.isSuccess)
                if settings.logEnabled { log.write(request, id: id, outcome: outcome, elapsed: elapsed, bytesIn: bytesIn) }
            }
            return .next
        }

        if settings.requestIDInErrors {
            kernel.onError("observe.request-id", order: settings.order) { failure in
                var details = failure.details
                guard details["request_id"] == nil else { return }
                details["request_id"] = failure.request.requestID
                failure.rewrite(details: details)
            }
        }

        kernel.endpoint("observe.stats", description: "Calls, errors and latency percentiles per endpoint (operator)") {
            (_: Empty, request) throws -> [String: LatencyTable.Summary] in
            try request.requireOperator()
            return latency.summaries()
        }
    }

    func stop(_ kernel: PluginContext) async {
        runtime.writer?.close()
    }
}

/// What `stop` needs of what `register` made.
final class ObserveRuntime: @unchecked Sendable {
    var writer: LogWriter?
}

@_cdecl("kn_plugin_entry")
public func entry(_ host: UnsafeRawPointer?) -> UnsafeRawPointer? { export(ObservePlugin.self, host: host) }
