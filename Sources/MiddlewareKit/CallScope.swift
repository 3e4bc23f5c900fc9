import KernelSDK

/// Which calls a middleware applies to: endpoint patterns, protocols and
/// HTTP methods, from a plugin's configuration (`<prefix>endpoints`,
/// `<prefix>protocols`, `<prefix>methods`, each a comma-separated list;
/// absent: all). The conditional middleware of the config file:
///
/// ```ini
/// [guard]
/// cors.endpoints = public.*, api.*
/// cors.protocols = http
/// rate.methods = POST, PUT, DELETE
/// ```
public struct CallScope: Sendable {
    public let endpoints: [EndpointPattern]?
    public let protocols: Set<String>?
    public let methods: Set<String>?

    public static let everything = CallScope(endpoints: nil, protocols: nil, methods: nil)

    /// Protocols of calls made inside the process: a plugin's invoke, the admin socket, a job run.
    static let insideProtocols: [[UInt8]] = ["internal", "admin", "job"].map { Array($0.utf8) }

    public init(endpoints: [EndpointPattern]?, protocols: Set<String>?, methods: Set<String>?) {
        self.endpoints = endpoints
        self.protocols = protocols
        self.methods = methods
    }

    /// The scope configured under `prefix` (e.g. "cors.").
    public init(_ kernel: PluginContext, prefix: String) {
        func list(_ key: String) -> [String]? {
            guard let text = kernel.config(prefix + key) else { return nil }
            let items = text.split(separator: ",").map(\.trimmingSpaces).filter { !$0.isEmpty }
            return items.isEmpty ? nil : items
        }
        self.init(endpoints: list("endpoints")?.map(EndpointPattern.init),
                  protocols: list("protocols").map { Set($0.map { $0.lowercased() }) },
                  methods: list("methods").map { Set($0.map { $0.uppercased() }) })
    }

    /// The most the kernel can filter by itself: one pattern when there is
    /// exactly one, else "*" (the rest is checked per call by `includes`).
    public var kernelPattern: String { endpoints?.count == 1 ? endpoints![0].text : "*" }

    public var isEverything: Bool { endpoints == nil && protocols == nil && methods == nil }

    /// `includes`, and with no `protocols` configured, only calls from
    /// outside the process: not a plugin's `invoke` ("internal"), the admin
    /// socket (`kernelctl`) or a job run, which carry no client credentials
    /// and are trusted. For authentication and rate limits.
    public func includesFromOutside(_ request: RequestContext) -> Bool {
        if protocols == nil, request.withMeta("protocol", { name in
            // The kernel's own callers, read in place, once.
            guard let name else { return false }
            return Self.insideProtocols.contains { $0.elementsEqual(name) }
        }) {
            return false
        }
        return isEverything || includes(request)
    }

    /// Whether the middleware applies to this call. A method applies on
    /// HTTP only: calls over ws and tcp have none and are kept.
    public func includes(_ request: RequestContext) -> Bool {
        if let protocols, !protocols.contains(request.protocolName) { return false }
        if let endpoints {
            let name = request.endpoint
            if !endpoints.contains(where: { $0.matches(name) }) { return false }
        }
        if let methods, let method = request.meta("http.method"), !methods.contains(method) { return false }
        return true
    }
}
