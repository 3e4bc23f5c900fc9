// Checks FrameDecoder against a model of the framing: same frames, each as long as its declared length, in any chunking of the stream.
import NIOCore
import NIOEmbedded

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var input = FuzzInput(data, size)
    let maxFrameSize = Int(input.integer(bytes: 2) % 4096) + 1
    var chunkSeed = input.byte()
    let stream = Array(input.rest)

    let channel = EmbeddedChannel(handler: ByteToMessageHandler(FrameDecoder(maxFrameSize: maxFrameSize)))
    var frames: [TCPFrame] = []
    var offset = 0
    while offset < stream.count {
        // Chunk sizes 1...16 from the seed: a frame split anywhere must decode the same.
        let length = min(Int(chunkSeed % 16) + 1, stream.count - offset)
        chunkSeed = chunkSeed &* 37 &+ 11
        var chunk = ByteBuffer()
        chunk.writeBytes(stream[offset..<(offset + length)])
        offset += length
        do { try channel.writeInbound(chunk) } catch { fail("writeInbound threw \(error)") }
        while let frame = try? channel.readInbound(as: TCPFrame.self) { frames.append(frame) }
    }
    // A frame cut short by the close is dropped, never delivered.
    _ = try? channel.finish()
    while let frame = try? channel.readInbound(as: TCPFrame.self) { frames.append(frame) }

    let expected = model(stream, maxFrameSize: maxFrameSize)
    require(frames.count == expected.count, "\(frames.count) frames, expected \(expected.count)")
    for (frame, want) in zip(frames, expected) {
        switch (frame, want) {
        case (.message(let buffer), .message(let bytes)):
            require(buffer.readableBytes == bytes.count, "a frame of \(buffer.readableBytes) bytes, declared \(bytes.count)")
            require(Array(buffer.readableBytesView) == bytes, "frame bytes differ")
        case (.oversize(let length), .oversize(let declared)):
            require(length == declared, "oversize \(length), declared \(declared)")
        default:
            fail("frame \(frame), expected \(want)")
        }
    }
    return 0
}

private enum Expected { case message([UInt8]), oversize(UInt32) }

/// Protocols/tcp-framing.md: a 4-byte big-endian length, then that many bytes;
/// zero is a heartbeat; a length past the limit ends the stream.
private func model(_ stream: [UInt8], maxFrameSize: Int) -> [Expected] {
    var frames: [Expected] = []
    var index = 0
    while stream.count - index >= 4 {
        let length = stream[index..<(index + 4)].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        if length == 0 {
            index += 4
            continue
        }
        if length > maxFrameSize { return frames + [.oversize(length)] }
        guard stream.count - index - 4 >= Int(length) else { break }
        frames.append(.message(Array(stream[(index + 4)..<(index + 4 + Int(length))])))
        index += 4 + Int(length)
    }
    return frames
}
