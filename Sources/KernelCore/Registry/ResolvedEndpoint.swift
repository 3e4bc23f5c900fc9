import CKernelABI

/// An endpoint with the middleware that wraps it: what a call resolves to,
/// built once per registry change so a call takes one reference.
///
/// The hot path reads `steps` and `holders`, which hold no references:
/// walking them costs no retain or release. The entries they point into are
/// kept alive by `endpoint` and `chain`, and plugin instances are never freed.
final class ResolvedEndpoint: @unchecked Sendable {
    struct Step {
        let function: kn_middleware_fn
        let userData: UnsafeMutableRawPointer?
    }

    let endpoint: EndpointEntry
    let chain: [MiddlewareEntry]
    let steps: ContiguousArray<Step>
    let handler: kn_handler_fn
    let handlerUserData: UnsafeMutableRawPointer?
    /// Each plugin the call passes through, once: they count it in flight.
    let holders: ContiguousArray<Unmanaged<PluginInstance>>
    /// Its deadline and in-flight limit (`CallLimits`).
    let policy: CallLimits.Policy

    init(endpoint: EndpointEntry, chain: [MiddlewareEntry], policy: CallLimits.Policy = CallLimits.unlimited) {
        self.endpoint = endpoint
        self.policy = policy
        self.chain = chain
        steps = ContiguousArray(chain.map { Step(function: $0.function, userData: $0.userData) })
        handler = endpoint.handler
        handlerUserData = endpoint.userData
        var holders: ContiguousArray<Unmanaged<PluginInstance>> = [Unmanaged.passUnretained(endpoint.owner)]
        for middleware in chain where !holders.contains(where: { $0.toOpaque() == Unmanaged.passUnretained(middleware.owner).toOpaque() }) {
            holders.append(Unmanaged.passUnretained(middleware.owner))
        }
        self.holders = holders
    }

    func begin() { for holder in holders { holder._withUnsafeGuaranteedRef { $0.beginCall() } } }
    func end() { for holder in holders { holder._withUnsafeGuaranteedRef { $0.endCall() } } }
}
