import EnvelopeTransport
import NIOCore
import NIOEmbedded
import NIOTestUtils
import XCTest

/// Frames compare by kind and bytes, so that `ByteToMessageDecoderVerifier` can check them.
extension TCPFrame: Equatable {
    package static func == (lhs: TCPFrame, rhs: TCPFrame) -> Bool {
        switch (lhs, rhs) {
        case (.message(let left), .message(let right)): left == right
        case (.oversize(let left), .oversize(let right)): left == right
        default: false
        }
    }
}

/// FrameDecoder (Protocols/tcp-framing.md section 1): a 4-byte big-endian
/// length, then that many bytes; zero is a heartbeat; a length past the
/// limit ends the stream.
final class FrameDecoderTests: XCTestCase {
    // MARK: Helpers

    /// The bytes of one frame holding `payload`.
    private func frame(_ payload: String) -> ByteBuffer {
        frame(Array(payload.utf8))
    }

    private func frame(_ payload: [UInt8]) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeInteger(UInt32(payload.count)) // big-endian
        buffer.writeBytes(payload)
        return buffer
    }

    private func length(_ value: UInt32) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeInteger(value)
        return buffer
    }

    private var heartbeat: ByteBuffer { length(0) }

    private func joined(_ buffers: ByteBuffer...) -> ByteBuffer {
        var all = ByteBuffer()
        for var buffer in buffers { all.writeBuffer(&buffer) }
        return all
    }

    private func makeChannel(maxFrameSize: Int) -> EmbeddedChannel {
        EmbeddedChannel(handler: ByteToMessageHandler(FrameDecoder(maxFrameSize: maxFrameSize)))
    }

    /// Every frame the decoder has passed on so far.
    private func frames(_ channel: EmbeddedChannel) throws -> [TCPFrame] {
        var frames: [TCPFrame] = []
        while let frame = try channel.readInbound(as: TCPFrame.self) { frames.append(frame) }
        return frames
    }

    private func messages(_ frames: [TCPFrame], file: StaticString = #filePath, line: UInt = #line) -> [String] {
        frames.map { frame -> String in
            switch frame {
            case .message(let buffer):
                return String(buffer: buffer)
            case .oversize(let length):
                XCTFail("unexpected oversize(\(length))", file: file, line: line)
                return "<oversize \(length)>"
            }
        }
    }

    // MARK: With the verifier (whole, byte by byte, all at once)

    func testVerifierFramesAndHeartbeats() throws {
        let limit = 64
        let full = String(repeating: "m", count: limit)
        let pairs: [(ByteBuffer, [TCPFrame])] = [
            (frame(#"{"id":1,"endpoint":"hello"}"#), [.message(ByteBuffer(string: #"{"id":1,"endpoint":"hello"}"#))]),
            (frame("x"), [.message(ByteBuffer(string: "x"))]),
            (heartbeat, []),
            (joined(heartbeat, heartbeat, frame("after heartbeats")), [.message(ByteBuffer(string: "after heartbeats"))]),
            (joined(frame("one"), frame("two")), [.message(ByteBuffer(string: "one")), .message(ByteBuffer(string: "two"))]),
            (frame(full), [.message(ByteBuffer(string: full))]),
            (frame([0, 0, 0, 0, 0xFF]), [.message(ByteBuffer(bytes: [0, 0, 0, 0, 0xFF]))]),
        ]
        try ByteToMessageDecoderVerifier.verifyDecoder(inputOutputPairs: pairs) { FrameDecoder(maxFrameSize: limit) }
    }

    // MARK: With an EmbeddedChannel

    func testOneFrame() throws {
        let channel = makeChannel(maxFrameSize: 1024)
        try channel.writeInbound(frame(#"{"id":1}"#))
        XCTAssertEqual(messages(try frames(channel)), [#"{"id":1}"#])
        XCTAssertTrue(try channel.finish().isClean)
    }

    func testTwoFramesInOneBuffer() throws {
        let channel = makeChannel(maxFrameSize: 1024)
        try channel.writeInbound(joined(frame("first"), frame("second")))
        XCTAssertEqual(messages(try frames(channel)), ["first", "second"])
        XCTAssertTrue(try channel.finish().isClean)
    }

    func testFramesSplitIntoOneByteWritesComeOutWhole() throws {
        let channel = makeChannel(maxFrameSize: 1024)
        let first = Array(frame("split across writes").readableBytesView)
        let second = Array(frame("and another").readableBytesView)
        for (index, byte) in first.enumerated() {
            try channel.writeInbound(ByteBuffer(bytes: [byte]))
            let out = try frames(channel)
            if index < first.count - 1 {
                XCTAssertTrue(out.isEmpty, "a frame came out after \(index + 1) of \(first.count) bytes")
            } else {
                XCTAssertEqual(messages(out), ["split across writes"])
            }
        }
        for byte in second { try channel.writeInbound(ByteBuffer(bytes: [byte])) }
        XCTAssertEqual(messages(try frames(channel)), ["and another"])
        XCTAssertTrue(try channel.finish().isClean)
    }

    func testLengthSplitAcrossWrites() throws {
        let channel = makeChannel(maxFrameSize: 1024)
        var whole = frame("payload")
        let head = whole.readSlice(length: 2)!
        try channel.writeInbound(head)
        XCTAssertTrue(try frames(channel).isEmpty)
        try channel.writeInbound(whole)
        XCTAssertEqual(messages(try frames(channel)), ["payload"])
    }

    func testHeartbeatsAreSkipped() throws {
        let channel = makeChannel(maxFrameSize: 1024)
        try channel.writeInbound(heartbeat)
        XCTAssertTrue(try frames(channel).isEmpty)
        try channel.writeInbound(joined(heartbeat, frame("a"), heartbeat, heartbeat, frame("b"), heartbeat))
        XCTAssertEqual(messages(try frames(channel)), ["a", "b"])
        XCTAssertTrue(try channel.finish().isClean)
    }

    func testLengthOfExactlyTheMaximumIsAccepted() throws {
        let channel = makeChannel(maxFrameSize: 16)
        let payload = String(repeating: "z", count: 16)
        try channel.writeInbound(frame(payload))
        XCTAssertEqual(messages(try frames(channel)), [payload])
        // The decoder goes on after it.
        try channel.writeInbound(frame("next"))
        XCTAssertEqual(messages(try frames(channel)), ["next"])
    }

    func testLengthPastTheMaximumIsOversizeAndEverythingAfterIsDiscarded() throws {
        let channel = makeChannel(maxFrameSize: 16)
        try channel.writeInbound(frame("before"))
        // Only the length is needed to know: the payload need not arrive.
        try channel.writeInbound(length(17))
        let out = try frames(channel)
        XCTAssertEqual(out, [.message(ByteBuffer(string: "before")), .oversize(17)])

        // The rest of that frame, valid frames and heartbeats: all dropped.
        try channel.writeInbound(ByteBuffer(bytes: Array(repeating: UInt8(ascii: "x"), count: 17)))
        try channel.writeInbound(frame("valid"))
        try channel.writeInbound(joined(heartbeat, frame("also valid"), length(1000)))
        for byte in Array(frame("byte by byte").readableBytesView) {
            try channel.writeInbound(ByteBuffer(bytes: [byte]))
        }
        XCTAssertEqual(try frames(channel), [])
        XCTAssertTrue(try channel.finish().isClean)
    }

    func testOversizeFrameFollowedByValidFramesInTheSameBufferYieldsOnlyOversize() throws {
        let channel = makeChannel(maxFrameSize: 16)
        try channel.writeInbound(joined(length(UInt32.max), frame("valid"), frame("valid too")))
        XCTAssertEqual(try frames(channel), [.oversize(UInt32.max)])
        XCTAssertTrue(try channel.finish().isClean)
    }

    func testTextReadAsALengthIsOversize() throws {
        // tcp-framing.md: "any bytes that are not a frame, e.g. `GET / HTTP/1.1`, read as a length".
        let channel = makeChannel(maxFrameSize: 1_048_576)
        try channel.writeInbound(ByteBuffer(string: "GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
        let expected = UInt32(UInt8(ascii: "G")) << 24 | UInt32(UInt8(ascii: "E")) << 16
            | UInt32(UInt8(ascii: "T")) << 8 | UInt32(UInt8(ascii: " "))
        XCTAssertEqual(try frames(channel), [.oversize(expected)])
    }

    func testFrameCutShortAtEndOfInputIsDroppedWithoutError() throws {
        let channel = makeChannel(maxFrameSize: 1024)
        var partial = frame("this frame never ends")
        partial.moveWriterIndex(to: partial.writerIndex - 5)
        try channel.writeInbound(joined(frame("complete"), partial))
        XCTAssertEqual(messages(try frames(channel)), ["complete"])
        // Closing runs decodeLast: no frame, no error, nothing left over.
        let leftOvers = try channel.finish()
        XCTAssertTrue(leftOvers.isClean, "\(leftOvers)")
    }

    func testLengthCutShortAtEndOfInputIsDroppedWithoutError() throws {
        let channel = makeChannel(maxFrameSize: 1024)
        try channel.writeInbound(ByteBuffer(bytes: [0, 0]))
        XCTAssertTrue(try frames(channel).isEmpty)
        XCTAssertTrue(try channel.finish().isClean)
    }

    func testFrameCutShortWhenTheInputSideClosesIsDropped() throws {
        let channel = makeChannel(maxFrameSize: 1024)
        var partial = frame("half")
        partial.moveWriterIndex(to: partial.writerIndex - 2)
        try channel.writeInbound(partial)
        channel.pipeline.syncOperations.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        XCTAssertTrue(try frames(channel).isEmpty)
        XCTAssertNoThrow(try channel.throwIfErrorCaught())
        XCTAssertTrue(try channel.finish().isClean)
    }
}
