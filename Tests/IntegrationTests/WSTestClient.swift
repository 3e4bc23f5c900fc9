import Foundation

/// One WebSocket frame as read off the wire.
struct WSFrame {
    var fin: Bool
    var opcode: UInt8
    var payload: [UInt8]
    var text: String { String(decoding: payload, as: UTF8.self) }
    /// The code of a close frame (nil: none given).
    var closeCode: UInt16? { payload.count >= 2 ? UInt16(payload[0]) << 8 | UInt16(payload[1]) : nil }
}

/// A WebSocket client over a raw socket: does the upgrade, then writes any
/// frame a test wants (unmasked, reserved bits, bad opcodes, split
/// fragments) and reads the server's frames as they are.
final class WSTestClient {
    static let text: UInt8 = 0x1, binary: UInt8 = 0x2, continuation: UInt8 = 0x0
    static let close: UInt8 = 0x8, ping: UInt8 = 0x9, pong: UInt8 = 0xA

    private let socket: BlockingSocket
    private var buffer: [UInt8] = []

    init(port: Int, path: String = "/", timeout: TimeInterval = 15, receiveBuffer: Int? = nil) throws {
        socket = try BlockingSocket.tcp(port: port, timeout: timeout, receiveBuffer: receiveBuffer)
        let key = Data((0..<16).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
        try socket.sendAll(Array("""
            GET \(path) HTTP/1.1\r
            Host: 127.0.0.1\r
            Upgrade: websocket\r
            Connection: Upgrade\r
            Sec-WebSocket-Key: \(key)\r
            Sec-WebSocket-Version: 13\r
            \r

            """.utf8))
        let head = try readHead()
        guard head.hasPrefix("HTTP/1.1 101") else { throw SetupError("upgrade refused: \(head)") }
    }

    private func readHead() throws -> String {
        let end = Array("\r\n\r\n".utf8)
        while true {
            if let range = buffer.firstRange(of: end) {
                let head = String(decoding: buffer[..<range.lowerBound], as: UTF8.self)
                buffer.removeSubrange(..<range.upperBound)
                return head
            }
            guard let chunk = try socket.receive() else { throw SetupError("closed during the upgrade") }
            buffer += chunk
        }
    }

    // MARK: Writing

    /// Writes one frame; `masked: false` and `rsv` exist to break the rules.
    func sendFrame(opcode: UInt8, _ payload: [UInt8], fin: Bool = true, masked: Bool = true, rsv: UInt8 = 0) throws {
        try socket.sendAll(Self.encode(opcode: opcode, payload, fin: fin, masked: masked, rsv: rsv))
    }

    static func encode(opcode: UInt8, _ payload: [UInt8], fin: Bool = true, masked: Bool = true, rsv: UInt8 = 0) -> [UInt8] {
        var frame: [UInt8] = [(fin ? 0x80 : 0) | (rsv << 4) | opcode]
        let maskBit: UInt8 = masked ? 0x80 : 0
        switch payload.count {
        case ..<126: frame.append(maskBit | UInt8(payload.count))
        case ..<65536:
            frame.append(maskBit | 126)
            frame += [UInt8(payload.count >> 8), UInt8(payload.count & 0xFF)]
        default:
            frame.append(maskBit | 127)
            frame += (0..<8).reversed().map { UInt8((UInt64(payload.count) >> (UInt64($0) * 8)) & 0xFF) }
        }
        guard masked else { return frame + payload }
        let mask = (0..<4).map { _ in UInt8.random(in: 0...255) }
        frame += mask
        frame += payload.enumerated().map { $0.element ^ mask[$0.offset % 4] }
        return frame
    }

    /// Raw bytes, for frames `sendFrame` cannot build (or several at once).
    func sendRaw(_ bytes: [UInt8]) throws { try socket.sendAll(bytes) }

    func sendText(_ text: String) throws { try sendFrame(opcode: Self.text, Array(text.utf8)) }

    /// Sends an envelope built from a dictionary.
    func send(_ envelope: [String: Any]) throws {
        try sendFrame(opcode: Self.text, Array(try JSONSerialization.data(withJSONObject: envelope)))
    }

    func sendClose(code: UInt16, reason: String = "") throws {
        try sendFrame(opcode: Self.close, [UInt8(code >> 8), UInt8(code & 0xFF)] + Array(reason.utf8))
    }

    // MARK: Reading

    /// The next frame, or nil when the server closed the socket.
    func readFrame() throws -> WSFrame? {
        while true {
            if let (frame, used) = Self.decode(buffer) {
                buffer.removeFirst(used)
                return frame
            }
            guard let chunk = try socket.receive() else { return nil }
            buffer += chunk
        }
    }

    private static func decode(_ bytes: [UInt8]) -> (WSFrame, Int)? {
        guard bytes.count >= 2 else { return nil }
        var length = Int(bytes[1] & 0x7F)
        var offset = 2
        if length == 126 {
            guard bytes.count >= 4 else { return nil }
            length = Int(bytes[2]) << 8 | Int(bytes[3])
            offset = 4
        } else if length == 127 {
            guard bytes.count >= 10 else { return nil }
            length = bytes[2..<10].reduce(0) { $0 << 8 | Int($1) }
            offset = 10
        }
        guard bytes.count >= offset + length else { return nil }
        return (WSFrame(fin: bytes[0] & 0x80 != 0, opcode: bytes[0] & 0x0F, payload: Array(bytes[offset..<(offset + length)])),
                offset + length)
    }

    /// The next envelope message (text frames only; others are skipped), as JSON.
    func readMessage() throws -> [String: Any] {
        while true {
            guard let frame = try readFrame() else { throw SetupError("connection closed while waiting for a message") }
            if frame.opcode == Self.close { throw SetupError("server closed with \(frame.closeCode.map(String.init) ?? "no code"): \(frame.text)") }
            guard frame.opcode == Self.text else { continue }
            guard let object = try JSONSerialization.jsonObject(with: Data(frame.payload)) as? [String: Any] else {
                throw SetupError("not a JSON object: \(frame.text)")
            }
            return object
        }
    }

    /// Reads until the server's close frame; returns it (nil: the socket closed without one).
    func readClose() throws -> WSFrame? {
        while let frame = try readFrame() {
            if frame.opcode == Self.close { return frame }
        }
        return nil
    }

    /// Whether the server closes the socket (EOF) after its close frame.
    func readEOF() -> Bool {
        (try? readFrame()) == nil
    }

    func close() { socket.close() }
}
