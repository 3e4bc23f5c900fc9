import KernelSDK
import MiddlewareKit

/// The `guard` core plugin: security headers and CORS (HTTP), rate limits
/// and request validation (every protocol). Security headers and validation
/// are on by default; CORS and rate limits once configured. Each is its own
/// middleware with its own order and scope (`<feature>.endpoints`,
/// `.protocols`, `.methods`); README "Middleware" lists the keys.
struct GuardPlugin: Plugin {
    static let name = "guard"
    static let version = "1.0.0"
    static let description = "Security headers, CORS, rate limits and JSON Schema validation of requests"

    func register(with kernel: PluginContext) async throws {
        func order(_ key: String, _ fallback: Int32) throws -> Int32 { try kernel.order(key, default: fallback) }
        func flag(_ key: String, _ fallback: Bool) throws -> Bool { try kernel.flag(key, default: fallback) }

        let headers = SecurityHeaders(kernel)
        if !headers.isEmpty {
            let scope = CallScope(kernel, prefix: "headers.")
            kernel.middleware("guard.headers", order: try order("headers.order", -900), endpoints: scope.kernelPattern) { request in
                if request.isHTTP && scope.includes(request) { headers.apply(to: request) }
                return .next
            }
        }

        if let cors = try CORSPolicy(kernel) {
            let scope = CallScope(kernel, prefix: "cors.")
            kernel.middleware("guard.cors", order: try order("cors.order", -800), endpoints: scope.kernelPattern) { request in
                if request.isHTTP && scope.includes(request) { cors.apply(to: request) }
                return .next
            }
        }

        if let text = kernel.config("rate_limits"), !text.trimmingSpaces.isEmpty {
            let limits = try RuleList(text) { try RateLimit($0) }
            let buckets = TokenBuckets(capacity: max(32, kernel.config("rate_max_keys", default: 100_000)))
            let trustForwarded = try flag("trust_forwarded", false)
            // `rate_headers = always` puts RateLimit-* on every answer; by default only on a refusal.
            let showHeaders = kernel.config("rate_headers")?.lowercased() == "always"
            let scope = CallScope(kernel, prefix: "rate.")
            kernel.middleware("guard.rate", order: try order("rate.order", -500), endpoints: scope.kernelPattern) { request in
                guard !request.hasMeta("call.preflight"), scope.includesFromOutside(request),
                      let limit = limits.first(for: request.endpoint) else { return .next }
                let decision = buckets.take(limit.bucketKey(request, trustForwarded: trustForwarded),
                                            burst: limit.burst, rate: limit.refillRate)
                return RateLimitAnswer.apply(decision, limit, to: request, showHeaders: showHeaders)
            }
            kernel.endpoint("guard.stats", description: "Rate-limit keys held (operator)") { (_: Empty, request) throws -> [String: Int] in
                try request.requireOperator()
                return ["rate_keys": buckets.count]
            }
        }

        if try flag("validate", true) {
            let validation = RequestValidation()
            let scope = CallScope(kernel, prefix: "validate.")
            kernel.middleware("guard.validate", order: try order("validate.order", 100), endpoints: scope.kernelPattern) { request in
                guard !request.hasMeta("call.preflight"), scope.includes(request),
                      let failure = validation.check(request) else { return .next }
                return .reject(failure)
            }
        }
    }
}

/// A rate-limit decision as the caller sees it: `RateLimit-*` headers on
/// HTTP (on every answer with `rate_headers = always`), and when refused, `rate_limited` (429) with `Retry-After` and the
/// wait in the error's details (`retry_after`, seconds) on every protocol.
enum RateLimitAnswer {
    static func apply(_ decision: TokenBuckets.Decision, _ limit: RateLimit, to request: RequestContext, showHeaders: Bool)
        -> PluginContext.MiddlewareDecision {
        let retry = Int(decision.retryAfter.rounded(.up))
        if request.isHTTP && (showHeaders || !decision.allowed) {
            request.setResponseMeta("header.ratelimit-limit", String(limit.burst))
            request.setResponseMeta("header.ratelimit-remaining", String(decision.remaining))
            request.setResponseMeta("header.ratelimit-reset", String(Int(decision.resetAfter.rounded(.up))))
        }
        guard !decision.allowed else { return .next }
        request.setResponseMeta("header.retry-after", String(max(1, retry)))
        return .reject(PluginError(.rateLimited, "rate limit \(limit) exceeded; retry in \(max(1, retry)) s",
                                   details: ["retry_after": String(max(1, retry))]))
    }
}

@_cdecl("kn_plugin_entry")
public func entry(_ host: UnsafeRawPointer?) -> UnsafeRawPointer? { export(GuardPlugin.self, host: host) }
