import NIOCore

/// What the decoder finds on the byte stream.
package enum TCPFrame {
    /// One envelope (the bytes after the length).
    case message(ByteBuffer)
    /// A length past `max_frame_size` (or garbage read as a length): the
    /// stream cannot be trusted after it, so the connection ends.
    case oversize(UInt32)
}

/// A heartbeat (a zero length) arrived: traffic, though no frame goes on.
package struct TCPHeartbeat: Sendable {}

/// Splits the stream into frames: a 4-byte big-endian length, then that many
/// bytes. A zero length is a heartbeat: skipped, and told as a
/// `TCPHeartbeat` user event (it keeps the connection alive). After an oversize
/// length every further byte is discarded.
package struct FrameDecoder: ByteToMessageDecoder {
    package typealias InboundOut = TCPFrame

    package let maxFrameSize: Int
    private var failed = false

    package init(maxFrameSize: Int) { self.maxFrameSize = maxFrameSize }

    package mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        if failed {
            buffer.moveReaderIndex(to: buffer.writerIndex)
            return .needMoreData
        }
        guard let length = buffer.getInteger(at: buffer.readerIndex, as: UInt32.self) else { return .needMoreData }
        if length == 0 {
            buffer.moveReaderIndex(forwardBy: 4)
            context.fireUserInboundEventTriggered(TCPHeartbeat())
            return .continue
        }
        guard length <= maxFrameSize else {
            failed = true
            buffer.moveReaderIndex(to: buffer.writerIndex)
            context.fireChannelRead(Self.wrapInboundOut(.oversize(length)))
            return .needMoreData
        }
        guard buffer.readableBytes >= 4 + Int(length) else { return .needMoreData }
        buffer.moveReaderIndex(forwardBy: 4)
        let frame = buffer.readSlice(length: Int(length))!
        context.fireChannelRead(Self.wrapInboundOut(.message(frame)))
        return .continue
    }

    package mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        while try decode(context: context, buffer: &buffer) == .continue {}
        // A frame cut short by the peer's close is dropped: there is nobody to answer.
        buffer.moveReaderIndex(to: buffer.writerIndex)
        return .needMoreData
    }
}
