import KernelTransport
import NIOCore

/// How a stream is framed on HTTP: Server-Sent Events when the client
/// accepts `text/event-stream`, newline-delimited JSON otherwise, or raw
/// when the handler frames its items itself (`RawStream`).
enum StreamFormat {
    case serverSentEvents
    case jsonLines
    /// Each item's bytes as they are, under the handler's content type.
    case raw(contentType: String)

    init(accept: String?) {
        self = accept?.lowercased().contains("text/event-stream") == true ? .serverSentEvents : .jsonLines
    }

    var contentType: String {
        switch self {
        case .serverSentEvents: "text/event-stream"
        case .jsonLines: "application/x-ndjson"
        case .raw(let contentType): contentType
        }
    }

    /// One item: `id: <n>` and `data:` lines, one JSON line, or the item as is.
    func item(_ item: ByteBuffer, sequence: Int, into buffer: inout ByteBuffer) {
        switch self {
        case .serverSentEvents:
            buffer.writeString("id: \(sequence)\n")
            Self.dataLines(item, into: &buffer)
        case .jsonLines:
            Self.oneLine(item, into: &buffer)
        case .raw:
            var item = item
            buffer.writeBuffer(&item)
        }
    }

    /// The last message: `event: end` with the result, or `event: error`
    /// (SSE); nothing, or the error object as the last line (JSON lines);
    /// nothing when raw (the handler's own framing has no end message).
    func end(result: ByteBuffer?, failure: CallOutcome.Failure?, into buffer: inout ByteBuffer) {
        switch (self, failure) {
        case (.serverSentEvents, let failure?):
            var error = ByteBuffer()
            failure.writeJSON(into: &error)
            buffer.writeString("event: error\n")
            Self.dataLines(error, into: &buffer)
        case (.serverSentEvents, nil):
            buffer.writeString("event: end\n")
            Self.dataLines(result.flatMap { $0.readableBytes > 0 ? $0 : nil } ?? ByteBuffer(string: "{}"), into: &buffer)
        case (.jsonLines, let failure?):
            var error = ByteBuffer()
            error.writeString(#"{"error":"#)
            failure.writeJSON(into: &error)
            error.writeString("}")
            Self.oneLine(error, into: &buffer)
        case (.jsonLines, nil), (.raw, _):
            break
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
