import KernelSDK

/// Response headers that close common browser holes, on HTTP: on by
/// default, each replaced or turned off (empty value) in `[guard]`.
struct SecurityHeaders: Sendable {
    let headers: [(name: String, value: String)]
    /// `Strict-Transport-Security`, sent on requests that came over TLS
    /// (a TLS proxy's `X-Forwarded-Proto: https`, when trusted) or always.
    let hsts: String
    let hstsAlways: Bool
    let trustForwarded: Bool

    init(_ kernel: PluginContext) {
        func value(_ key: String, _ fallback: String) -> String? {
            let text = kernel.config(key) ?? fallback
            return text.isEmpty ? nil : text
        }
        let enabled = !["false", "off", "no", "0"].contains((kernel.config("security_headers") ?? "true").lowercased())
        // Response metadata keys ("header.<name>"), made once.
        headers = enabled ? [
            ("x-content-type-options", value("content_type_options", "nosniff")),
            ("x-frame-options", value("frame_options", "DENY")),
            ("referrer-policy", value("referrer_policy", "no-referrer")),
            ("content-security-policy", value("content_security_policy", "default-src 'self'")),
        ].compactMap { name, value in value.map { ("header." + name, $0) } } : []
        hsts = enabled ? (kernel.config("hsts") ?? "max-age=31536000; includeSubDomains") : ""
        hstsAlways = (kernel.config("hsts_always") ?? "false").lowercased() == "true"
        trustForwarded = (kernel.config("trust_forwarded") ?? "false").lowercased() == "true"
    }

    var isEmpty: Bool { headers.isEmpty && hsts.isEmpty }

    func apply(to request: RequestContext) {
        for (key, value) in headers { request.setResponseMeta(key, value) }
        if !hsts.isEmpty && (hstsAlways || (trustForwarded && request.header("x-forwarded-proto") == "https")) {
            request.setResponseHeader("strict-transport-security", hsts)
        }
    }
}
