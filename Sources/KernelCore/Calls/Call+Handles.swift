import CKernelABI

/// A `kn_call *` is a `Call`, unretained: how handles are made and read.
extension Call {
    /// A new call with one reference owned by the caller.
    static func newHandle(kernel: Kernel, protocolName: UnsafePointer<CChar>?, starterSignalsReady: Bool) -> OpaquePointer {
        let call = Call(kernel: kernel, protocolName: ProtocolNames.buffer(for: protocolName),
                        starterSignalsReady: starterSignalsReady)
        return OpaquePointer(Unmanaged.passRetained(call).toOpaque())
    }

    static func from(_ handle: OpaquePointer) -> Call {
        Unmanaged<Call>.fromOpaque(UnsafeRawPointer(handle)).takeUnretainedValue()
    }

    /// Runs `body` with the call behind `handle`, without retaining it: the
    /// handle's owner keeps it alive for the duration (the hot path).
    @inline(__always)
    static func with<Result>(_ handle: OpaquePointer, _ body: (Call) -> Result) -> Result {
        Unmanaged<Call>.fromOpaque(UnsafeRawPointer(handle))._withUnsafeGuaranteedRef(body)
    }

    var handle: OpaquePointer { OpaquePointer(Unmanaged.passUnretained(self).toOpaque()) }

    func releaseHandle() { Unmanaged.passUnretained(self).release() }
}
