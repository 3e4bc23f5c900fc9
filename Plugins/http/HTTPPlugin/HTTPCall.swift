import KernelSDK
import KernelTransport
import NIOCore

/// The kernel call behind one HTTP request: hands its items and its outcome
/// to the connection's event loop. Freed (and the kernel call released)
/// when the connection no longer refers to it.
final class HTTPCall: TransportCall, @unchecked Sendable {
    private let loop: EventLoop
    private let handler: NIOLoopBound<HTTPConnectionHandler>
    private let life: ServerLife

    init(_ kernel: PluginContext, handler: HTTPConnectionHandler, loop: EventLoop, life: ServerLife,
         streamQueue: Int) throws(PluginError) {
        self.loop = loop
        self.handler = NIOLoopBound(handler, eventLoop: loop)
        self.life = life
        try super.init(kernel, protocol: "http", streamQueue: streamQueue)
    }

    override func completed(_ outcome: CallOutcome) {
        guard life.isRunning else { return }
        if loop.inEventLoop {
            handler.value.finish(self, outcome)
        } else {
            loop.execute { self.handler.value.finish(self, outcome) }
        }
    }

    override func deliver(item: ByteBuffer) {
        guard life.isRunning else { return itemWritten() }
        if loop.inEventLoop {
            handler.value.write(item: item, of: self)
        } else {
            loop.execute { self.handler.value.write(item: item, of: self) }
        }
    }
}

/// How a stream is framed on HTTP: Server-Sent Events when the client
/// accepts `text/event-stream`, newline-delimited JSON otherwise.
enum StreamFormat {
    case serverSentEvents
    case jsonLines

    init(accept: String?) {
        self = accept?.lowercased().contains("text/event-stream") == true ? .serverSentEvents : .jsonLines
    }

    var contentType: String {
        switch self {
        case .serverSentEvents: "text/event-stream"
        case .jsonLines: "application/x-ndjson"
        }
    }

    /// One item: `id: <n>` and `data:` lines, or one JSON line.
    func item(_ item: ByteBuffer, sequence: Int, into buffer: inout ByteBuffer) {
        switch self {
        case .serverSentEvents:
            buffer.writeString("id: \(sequence)\n")
            Self.dataLines(item, into: &buffer)
        case .jsonLines:
            Self.oneLine(item, into: &buffer)
        }
    }

    /// The last message: `event: end` with the result, or `event: error`
    /// (SSE); nothing, or the error object as the last line (JSON lines).
    func end(result: ByteBuffer?, failure: CallOutcome.Failure?, into buffer: inout ByteBuffer) {
        var error = ByteBuffer()
        if let failure {
            switch self {
            case .serverSentEvents:
                failure.writeJSON(into: &error)
                buffer.writeString("event: error\n")
                Self.dataLines(error, into: &buffer)
            case .jsonLines:
                error.writeString(#"{"error":"#)
                failure.writeJSON(into: &error)
                error.writeString("}")
                Self.oneLine(error, into: &buffer)
            }
        } else if self == .serverSentEvents {
            buffer.writeString("event: end\n")
            Self.dataLines(result.flatMap { $0.readableBytes > 0 ? $0 : nil } ?? ByteBuffer(string: "{}"), into: &buffer)
        }
    }

    /// `data: <line>` for each line of `payload`, then the blank line.
    private static func dataLines(_ payload: ByteBuffer, into buffer: inout ByteBuffer) {
        payload.withUnsafeReadableBytes { bytes in
            for line in bytes.split(separator: 0x0A, omittingEmptySubsequences: false) {
                buffer.writeString("data: ")
                buffer.writeBytes(line.last == 0x0D ? UnsafeRawBufferPointer(rebasing: line.dropLast()) : UnsafeRawBufferPointer(rebasing: line))
                buffer.writeInteger(UInt8(0x0A))
            }
        }
        buffer.writeInteger(UInt8(0x0A))
    }

    /// The payload on one line: JSON allows a line break only as
    /// whitespace, so each becomes a space.
    private static func oneLine(_ payload: ByteBuffer, into buffer: inout ByteBuffer) {
        payload.withUnsafeReadableBytes { bytes in
            for byte in bytes { buffer.writeInteger(byte == 0x0A || byte == 0x0D ? 0x20 : byte) }
        }
        buffer.writeInteger(UInt8(0x0A))
    }
}
