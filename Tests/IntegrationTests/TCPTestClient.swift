import Foundation
import XCTest

/// A client of the TCP transport over a raw socket: length-prefixed frames
/// (4-byte big-endian length, then the JSON envelope), plus raw bytes for
/// the tests that send garbage.
final class TCPTestClient {
    private let socket: BlockingSocket
    private var buffer: [UInt8] = []

    init(port: Int, timeout: TimeInterval = 15, receiveBuffer: Int? = nil) throws {
        socket = try BlockingSocket.tcp(port: port, timeout: timeout, receiveBuffer: receiveBuffer)
    }

    func sendRaw(_ bytes: [UInt8]) throws { try socket.sendAll(bytes) }

    static func frame(_ payload: [UInt8]) -> [UInt8] {
        let n = UInt32(payload.count)
        return [UInt8(n >> 24), UInt8(n >> 16 & 0xFF), UInt8(n >> 8 & 0xFF), UInt8(n & 0xFF)] + payload
    }

    func send(_ envelope: [String: Any]) throws {
        try sendRaw(Self.frame(Array(try JSONSerialization.data(withJSONObject: envelope))))
    }

    /// The next frame's payload, or nil when the server closed the connection.
    func readFrame() throws -> [UInt8]? {
        while true {
            if buffer.count >= 4 {
                let length = buffer[0..<4].reduce(0) { $0 << 8 | Int($1) }
                if buffer.count >= 4 + length {
                    let payload = Array(buffer[4..<(4 + length)])
                    buffer.removeFirst(4 + length)
                    return payload
                }
            }
            guard let chunk = try socket.receive() else { return nil }
            buffer += chunk
        }
    }

    func readMessage() throws -> [String: Any] {
        guard let frame = try readFrame() else { throw SetupError("connection closed while waiting for a message") }
        guard let object = try JSONSerialization.jsonObject(with: Data(frame)) as? [String: Any] else {
            throw SetupError("not a JSON object: \(String(decoding: frame, as: UTF8.self))")
        }
        return object
    }

    /// Whether the server closed the connection (no further frame).
    func readEOF() -> Bool { (try? readFrame()) == nil }

    /// Sends FIN: no more frames from this side.
    func shutdownWrite() { socket.shutdownWrite() }

    func close() { socket.close() }
}

/// What the WS and TCP clients share, so a test runs the same steps over both.
protocol EnvelopeTestClient: AnyObject {
    func send(_ envelope: [String: Any]) throws
    func readMessage() throws -> [String: Any]
    func close()
}
extension WSTestClient: EnvelopeTestClient {}
extension TCPTestClient: EnvelopeTestClient {}

extension EnvelopeTestClient {
    /// One unary call; returns the answer for `id`.
    func call(_ endpoint: String, _ payload: Any = [String: Any](), id: Any = 1, meta: [String: String]? = nil) throws -> [String: Any] {
        var envelope: [String: Any] = ["id": id, "endpoint": endpoint, "payload": payload]
        if let meta { envelope["meta"] = meta }
        try send(envelope)
        return try readMessage()
    }

    /// Starts a stream and reads items until its last message; returns the items and that message.
    func stream(_ endpoint: String, _ payload: Any, id: Any = 1) throws -> (items: [[String: Any]], last: [String: Any]) {
        try send(["id": id, "type": "stream", "endpoint": endpoint, "payload": payload])
        var items: [[String: Any]] = []
        while true {
            let message = try readMessage()
            guard message["type"] as? String == "item" else { return (items, message) }
            items.append(message["payload"] as? [String: Any] ?? [:])
        }
    }
}

extension Dictionary where Key == String, Value == Any {
    /// `error.code` of an error message.
    var envelopeErrorCode: String? { (self["error"] as? [String: Any])?["code"] as? String }
}

extension KernelProcess {
    /// The port a transport plugin listens on, from the admin `status` listeners.
    func listenerPort(_ plugin: String) throws -> Int {
        let listeners = try adminResult("status")["listeners"] as? [[String: Any]] ?? []
        guard let port = listeners.first(where: { $0["plugin"] as? String == plugin })?["port"] as? Int else {
            throw SetupError("no \(plugin) listener in status: \(listeners)")
        }
        return port
    }
}

extension IntegrationTestCase {
    static let allTransports = ["libhttp.so", "libhello.so", "libws.so", "libtcp.so"]

    /// A kernel with the three transports on free ports; returns it and the ws and tcp ports.
    func startKernelWithAllTransports(settings: [String] = [], file: StaticString = #filePath,
                                      line: UInt = #line) throws -> (kernel: KernelProcess, ws: Int, tcp: Int) {
        let kernel = try startKernel(plugins: Self.allTransports, settings: ["ws.port=0", "tcp.port=0"] + settings,
                                     file: file, line: line)
        return (kernel, try kernel.listenerPort("ws"), try kernel.listenerPort("tcp"))
    }

    /// Waits until `hello.streams` satisfies `predicate`; returns the last counts.
    @discardableResult
    func waitForStreamCounts(_ kernel: KernelProcess, timeout: TimeInterval = 10,
                             file: StaticString = #filePath, line: UInt = #line,
                             _ predicate: ([String: Any]) -> Bool) -> [String: Any] {
        var last: [String: Any] = [:]
        let ok = waitUntil(timeout: timeout) {
            guard let response = try? HTTP.call(port: kernel.httpPort, "hello.streams"), let json = response.json else { return false }
            last = json
            return predicate(json)
        }
        if !ok { XCTFail("hello.streams never matched; last: \(last)", file: file, line: line) }
        return last
    }
}
