import KernelSDK

/// A call's request id: the client's (`X-Request-Id`, or that name in a
/// ws/tcp envelope's `meta`) when it is a sane token, else the kernel's.
/// Returned in the same header, so a client can quote it.
struct RequestIDs: Sendable {
    let header: String
    let trustIncoming: Bool
    /// `header.<name>`, made once.
    let responseKey: String

    init(header: String, trustIncoming: Bool) {
        self.header = header
        self.trustIncoming = trustIncoming
        responseKey = "header." + header
    }

    /// Sets `request.id` and the response header; returns the id.
    func adopt(_ request: RequestContext) -> String {
        let id: String
        if trustIncoming, let offered = request.header(header), Self.isAcceptable(offered) {
            id = offered
            request.setMeta("request.id", offered)
        } else {
            id = request.requestID
        }
        request.setResponseMeta(responseKey, id)
        return id
    }

    /// 1 to 128 visible ASCII characters, no quotes or backslashes: it goes
    /// into headers and log lines as is.
    static func isAcceptable(_ id: String) -> Bool {
        let bytes = id.utf8
        return !bytes.isEmpty && bytes.count <= 128
            && bytes.allSatisfy { $0 > 0x20 && $0 < 0x7F && $0 != 0x22 && $0 != 0x5C }
    }
}
