import Foundation
import NIOCore
import NIOPosix

/// Where a kernel serves calls, and over which protocol.
public enum KernelAddress: Sendable {
    /// `POST /api/<endpoint>` (Protocols/http-transport.md); subscriptions as Server-Sent Events.
    case http(host: String = "127.0.0.1", port: Int = 8080)
    /// The JSON envelope over WebSocket (Protocols/ws-envelope.md).
    case ws(host: String = "127.0.0.1", port: Int = 8082)
    /// The JSON envelope in length-prefixed frames (Protocols/tcp-framing.md).
    case tcp(host: String = "127.0.0.1", port: Int = 8081)
}

/// Calls a kernel's endpoints over HTTP, WebSocket or TCP with one API.
///
/// ```swift
/// let client = try await KernelClient.connect(.ws(host: "127.0.0.1", port: 8082))
/// let answer = try await client.call("greet", ["name": "ada"])
/// for try await tick in try await client.stream("hello.ticker", ["count": 5]) { print(tick.text) }
/// await client.close()
/// ```
///
/// One connection per client; on ws and tcp many calls and streams share it
/// concurrently (answered by id), on http calls are pipelined in order.
/// Each subscription (`subscribe(to:)`) has a connection of its own.
/// Threading: every method may be called from any task, concurrently.
public final class KernelClient: Sendable {
    private let transport: any ClientTransport
    /// Kept for subscriptions: each opens (and reopens) a connection of its own.
    private let address: KernelAddress
    private let group: any EventLoopGroup
    private let subscriptions = SubscriptionRegistry()

    private init(transport: any ClientTransport, address: KernelAddress, group: any EventLoopGroup) {
        self.transport = transport
        self.address = address
        self.group = group
    }

    /// Opens the connection (and, for ws, does the upgrade).
    public static func connect(_ address: KernelAddress,
                               group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) async throws -> KernelClient {
        let transport: any ClientTransport = switch address {
        case .http(let host, let port): try await HTTPClientTransport.connect(host: host, port: port, group: group)
        case .ws(let host, let port): try await EnvelopeClientTransport.connectWebSocket(host: host, port: port, group: group)
        case .tcp(let host, let port): try await EnvelopeClientTransport.connectTCP(host: host, port: port, group: group)
        }
        return KernelClient(transport: transport, address: address, group: group)
    }

    /// Connects, runs `body` with the client, and closes it however `body` ends.
    ///
    /// ```swift
    /// let answer = try await KernelClient.withConnection(.tcp()) { try await $0.call("greet", ["name": "ada"]) }
    /// ```
    public static func withConnection<T: Sendable>(_ address: KernelAddress,
                                                   _ body: (KernelClient) async throws -> T) async throws -> T {
        let client = try await connect(address)
        do {
            let result = try await body(client)
            await client.close()
            return result
        } catch {
            await client.close()
            throw error
        }
    }

    /// Calls `endpoint` with a JSON payload given as bytes (empty: none).
    /// `meta` travels as headers on http and as envelope `meta` on ws/tcp.
    /// Throws `KernelClientError`.
    public func call(_ endpoint: String, json payload: [UInt8], meta: [String: String] = [:]) async throws -> KernelResponse {
        try await transport.call(endpoint, payload: payload, meta: meta)
    }

    /// Calls `endpoint` with `request` encoded as JSON.
    public func call<Request: Encodable>(_ endpoint: String, _ request: Request,
                                         meta: [String: String] = [:]) async throws -> KernelResponse {
        try await call(endpoint, json: try Self.encode(request), meta: meta)
    }

    /// Starts a streaming call (ws and tcp). Iterate the stream for the
    /// server's items; `send` and `end` give a bidirectional endpoint its items.
    public func stream(_ endpoint: String, json payload: [UInt8], meta: [String: String] = [:]) async throws -> KernelStream {
        try await transport.stream(endpoint, payload: payload, meta: meta)
    }

    public func stream<Request: Encodable>(_ endpoint: String, _ request: Request,
                                           meta: [String: String] = [:]) async throws -> KernelStream {
        try await stream(endpoint, json: try Self.encode(request), meta: meta)
    }

    /// Follows the events of the topics matching `patterns` (`orders.*`,
    /// `audit.#`; Protocols/pubsub.md) from the pubsub plugin's log: see
    /// `EventSubscription` for what iteration yields, resumes and throws.
    /// Nothing is sent until iteration starts.
    ///
    /// ```swift
    /// for try await case .event(let event) in client.subscribe(to: ["orders.*"]) { print(event.topic) }
    /// ```
    ///
    /// - `since`: where to start (an offset: the events after it; a time:
    ///   the events from then); nil: the events published from now on.
    /// - `overflow`: what the server does when the reader falls behind;
    ///   nil: the server's default.
    /// - `meta`: sent like a call's (envelope `meta`, or HTTP headers).
    public func subscribe(to patterns: [String], since: SubscriptionStart? = nil, overflow: SubscriptionOverflow? = nil,
                          meta: [String: String] = [:]) -> EventSubscription {
        EventSubscription(plan: SubscriptionPlan(address: address, group: group, patterns: patterns, start: since,
                                                 overflow: overflow, meta: meta),
                          registry: subscriptions)
    }

    /// Closes the connection; calls still in flight fail with
    /// `KernelClientError.closed`, and so do subscriptions being iterated.
    public func close() async {
        subscriptions.closeAll()
        await transport.close()
    }

    static func encode<Request: Encodable>(_ request: Request) throws -> [UInt8] {
        Array(try JSONEncoder().encode(request))
    }
}

/// A JSON value as received: the exact bytes, readable as text or decoded.
public struct JSONBody: Sendable, CustomStringConvertible {
    public let bytes: [UInt8]
    public init(_ bytes: [UInt8]) { self.bytes = bytes }
    public var text: String { String(decoding: bytes, as: UTF8.self) }
    public var description: String { text }
    public func decode<T: Decodable>(_ type: T.Type = T.self) throws -> T {
        try JSONDecoder().decode(T.self, from: Data(bytes))
    }
}

/// A call's successful answer.
public struct KernelResponse: Sendable {
    /// The result (a JSON value; `null` when the handler answered nothing).
    public let body: JSONBody
    /// Response metadata: HTTP response headers, or the envelope's `meta`.
    public let meta: [String: String]
    public var text: String { body.text }
    public func decode<T: Decodable>(_ type: T.Type = T.self) throws -> T { try body.decode(type) }
}

/// Why a call failed.
public enum KernelClientError: Error, CustomStringConvertible, Sendable {
    /// The endpoint (or a middleware) failed the call: `code` is one of the
    /// envelope's error codes (`not_found`, `unauthorized`, `cancelled`, …).
    case call(code: String, message: String, details: JSONBody)
    /// The connection is gone (closed by either side, or never opened).
    case closed(String)
    /// The server said something this client cannot read.
    case protocolViolation(String)
    /// The protocol cannot do this (streams over http).
    case unsupported(String)

    public var description: String {
        switch self {
        case .call(let code, let message, _): "\(code): \(message)"
        case .closed(let why): "connection closed: \(why)"
        case .protocolViolation(let what): "protocol violation: \(what)"
        case .unsupported(let what): "unsupported: \(what)"
        }
    }

    /// The error code for `.call`, else nil.
    public var code: String? {
        if case .call(let code, _, _) = self { return code }
        return nil
    }
}

/// What each protocol implements.
protocol ClientTransport: Sendable {
    func call(_ endpoint: String, payload: [UInt8], meta: [String: String]) async throws -> KernelResponse
    func stream(_ endpoint: String, payload: [UInt8], meta: [String: String]) async throws -> KernelStream
    func close() async
}
