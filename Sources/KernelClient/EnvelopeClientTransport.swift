import NIOCore

/// ws and tcp: one connection carrying envelopes, framed by the protocol's handlers.
final class EnvelopeClientTransport: ClientTransport {
    private let channel: Channel
    private let session: EnvelopeSession

    private init(channel: Channel, session: EnvelopeSession) {
        self.channel = channel
        self.session = session
    }

    func call(_ endpoint: String, payload: [UInt8], meta: [String: String]) async throws -> KernelResponse {
        try await session.call(endpoint, payload: payload, meta: meta, on: channel)
    }

    func stream(_ endpoint: String, payload: [UInt8], meta: [String: String]) async throws -> KernelStream {
        try await session.stream(endpoint, payload: payload, meta: meta, on: channel)
    }

    func close() async {
        try? await channel.close()
    }

    static func connectTCP(host: String, port: Int, group: any EventLoopGroup) async throws -> EnvelopeClientTransport {
        let session = EnvelopeSession()
        let channel = try await EnvelopeChannel.tcp(host: host, port: port, group: group) { channel in
            try channel.pipeline.syncOperations.addHandler(EnvelopeClientHandler(session: session))
        }
        return EnvelopeClientTransport(channel: channel, session: session)
    }

    static func connectWebSocket(host: String, port: Int, group: any EventLoopGroup) async throws -> EnvelopeClientTransport {
        let session = EnvelopeSession()
        let channel = try await EnvelopeChannel.webSocket(host: host, port: port, group: group) { channel in
            try channel.pipeline.syncOperations.addHandler(EnvelopeClientHandler(session: session))
        }
        return EnvelopeClientTransport(channel: channel, session: session)
    }
}
