import CompressNIO
import Foundation
import NIOCore
import NIOHTTP1

/// permessage-deflate (RFC 7692): what was agreed with the client in the
/// upgrade, and the compressor and decompressor of one connection.
///
/// Limits: a compressed message is inflated only up to `max_message_size`
/// (past it the connection is closed with 1009, as an uncompressed one
/// would be), so a small message cannot expand into unbounded memory.
struct DeflateAgreement: Equatable, Sendable {
    /// The server resets its compressor after each message.
    var serverNoContextTakeover = false
    /// The client resets its compressor after each message.
    var clientNoContextTakeover = false
    /// The server's compression window, 9...15 bits.
    var serverMaxWindowBits: Int32 = 15

    /// The first offer of `Sec-WebSocket-Extensions` this server can accept, or nil.
    static func negotiate(_ headers: HTTPHeaders) -> DeflateAgreement? {
        let offers = headers[canonicalForm: "sec-websocket-extensions"].map { String($0) }
        for offer in offers {
            let parts = offer.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.first?.lowercased() == "permessage-deflate" else { continue }
            var agreement = DeflateAgreement()
            var acceptable = true
            var seen = Set<String>()
            for parameter in parts.dropFirst() {
                let pair = parameter.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map {
                    $0.trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: "\""))
                }
                // An empty parameter ("permessage-deflate; ; x" or ";=") is not a parameter: the offer is invalid.
                guard let name = pair.first?.lowercased(), !name.isEmpty else { acceptable = false; break }
                // A parameter given twice makes the offer invalid (RFC 7692 section 7).
                guard seen.insert(name).inserted else { acceptable = false; break }
                switch name {
                case "server_no_context_takeover": agreement.serverNoContextTakeover = true
                case "client_no_context_takeover": agreement.clientNoContextTakeover = true
                case "server_max_window_bits":
                    // zlib's raw deflate cannot use a window of 8 bits.
                    guard pair.count == 2, let bits = Int32(pair[1]), (9...15).contains(bits) else { acceptable = false; break }
                    agreement.serverMaxWindowBits = bits
                case "client_max_window_bits":
                    // Our inflater takes any window up to 15: nothing to ask of the client.
                    if pair.count == 2 { guard let bits = Int32(pair[1]), (8...15).contains(bits) else { acceptable = false; break } }
                default:
                    acceptable = false
                }
                if !acceptable { break }
            }
            if acceptable { return agreement }
        }
        return nil
    }

    /// The `Sec-WebSocket-Extensions` value of the 101 answer.
    var responseHeader: String {
        var header = "permessage-deflate"
        if serverNoContextTakeover { header += "; server_no_context_takeover" }
        if clientNoContextTakeover { header += "; client_no_context_takeover" }
        if serverMaxWindowBits < 15 { header += "; server_max_window_bits=\(serverMaxWindowBits)" }
        return header
    }
}

/// One connection's deflate state. Event loop only.
final class DeflateStream {
    private let agreement: DeflateAgreement
    private let compressor: ZlibCompressor
    private let decompressor: ZlibDecompressor
    /// Messages shorter than this go out uncompressed (not worth the bytes).
    private let minimumSize: Int
    private static let tail: [UInt8] = [0x00, 0x00, 0xFF, 0xFF]

    init(_ agreement: DeflateAgreement, minimumSize: Int) throws {
        self.agreement = agreement
        self.minimumSize = minimumSize
        compressor = try ZlibCompressor(algorithm: .deflate,
                                        configuration: ZlibConfiguration(windowSize: agreement.serverMaxWindowBits))
        decompressor = try ZlibDecompressor(algorithm: .deflate, windowSize: 15)
    }

    /// A whole outgoing message: its payload, and whether it is compressed (RSV1).
    func compress(_ message: ByteBuffer) throws -> (ByteBuffer, compressed: Bool) {
        guard message.readableBytes >= minimumSize else { return (message, false) }
        var input = message
        var output: ByteBuffer
        do {
            output = try input.compressStream(with: compressor, flush: .sync, allocator: ByteBufferAllocator())
        } catch {
            // The caller sends this message uncompressed; the next compressed one
            // must not refer back to bytes the client never got.
            try? compressor.reset()
            throw error
        }
        // A sync flush ends with 00 00 ff ff; the sender removes it (RFC 7692 section 7.2.1).
        if output.readableBytes >= 4, output.getBytes(at: output.writerIndex - 4, length: 4) == Self.tail {
            output.moveWriterIndex(to: output.writerIndex - 4)
        }
        if agreement.serverNoContextTakeover { try compressor.reset() }
        return (output, true)
    }

    /// A whole incoming compressed message, inflated up to `limit` bytes;
    /// nil when it would inflate past it.
    func decompress(_ message: ByteBuffer, limit: Int) throws -> ByteBuffer? {
        var input = message
        input.writeBytes(Self.tail)
        let output: ByteBuffer
        do {
            output = try input.decompressStream(with: decompressor, maxSize: limit + 1, allocator: ByteBufferAllocator())
        } catch let error as CompressNIOError where error == .bufferOverflow {
            return nil
        }
        guard output.readableBytes <= limit else { return nil }
        // Input left over means the client ended its deflate stream (BFINAL,
        // which RFC 7692 allows): the next message starts a new stream.
        if agreement.clientNoContextTakeover || input.readableBytes > 0 { try decompressor.reset() }
        return output
    }
}
