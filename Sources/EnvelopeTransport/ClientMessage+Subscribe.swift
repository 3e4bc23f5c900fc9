import EnvelopeJSON
import NIOCore

/// `subscribe` (Protocols/ws-envelope.md section 10): a stream call to
/// `pubsub.subscribe`. Only the shape is checked here; the pubsub plugin
/// judges the patterns, `since` and `overflow` themselves, so the transport
/// need not change when it learns new ones. Pure functions: any thread.
extension ClientMessage {
    /// The endpoint a `subscribe` calls.
    package static let subscribeEndpoint = "pubsub.subscribe"

    /// The call a `subscribe` starts, with the payload
    /// `{"patterns":[…],"since":…,"overflow":"…"}` copied from the message's
    /// raw values (absent or `null` fields left out).
    static func subscription(id: String, _ bytes: UnsafeRawBufferPointer,
                             fields: [String: Range<Int>]) -> Result<CallStart, ShapeError> {
        guard let patterns = fields["patterns"], let count = stringArrayCount(bytes, in: patterns), count > 0 else {
            return .failure(ShapeError(message: "patterns must be a non-empty array of strings"))
        }
        func present(_ key: String) -> Range<Int>? {
            guard let range = fields[key], !bytes[range].elementsEqual("null".utf8) else { return nil }
            return range
        }
        let since = present("since")
        if let since, !JSONScanner.isIdentifier(bytes, in: since) {
            return .failure(ShapeError(message: "since must be an offset (an integer) or a time (an RFC 3339 string)"))
        }
        let overflow = present("overflow")
        if let overflow, JSONScanner.string(bytes, in: overflow) == nil {
            return .failure(ShapeError(message: "overflow must be a string (\"disconnect\" or \"drop\")"))
        }
        let meta: [(name: String, value: String)]
        switch Self.meta(bytes, in: fields["meta"]) {
        case .success(let entries): meta = entries
        case .failure(let error): return .failure(error)
        }

        var payload = ByteBuffer()
        payload.reserveCapacity(patterns.count + (since?.count ?? 0) + (overflow?.count ?? 0) + 32)
        payload.writeString(#"{"patterns":"#)
        payload.writeBytes(UnsafeRawBufferPointer(rebasing: bytes[patterns]))
        if let since {
            payload.writeString(#","since":"#)
            payload.writeBytes(UnsafeRawBufferPointer(rebasing: bytes[since]))
        }
        if let overflow {
            payload.writeString(#","overflow":"#)
            payload.writeBytes(UnsafeRawBufferPointer(rebasing: bytes[overflow]))
        }
        payload.writeInteger(UInt8(ascii: "}"))
        return .success(CallStart(id: id, endpoint: subscribeEndpoint, payload: payload, meta: meta,
                                  isStream: true, isSubscription: true))
    }

    /// How many strings the array in `range` holds; nil when it is not an array of strings only.
    package static func stringArrayCount(_ bytes: UnsafeRawBufferPointer, in range: Range<Int>) -> Int? {
        var index = range.lowerBound
        func skipSpace() {
            while index < range.upperBound {
                switch bytes[index] {
                case 0x20, 0x0A, 0x0D, 0x09: index += 1
                default: return
                }
            }
        }
        guard index < range.upperBound, bytes[index] == UInt8(ascii: "[") else { return nil }
        index += 1
        skipSpace()
        if index < range.upperBound, bytes[index] == UInt8(ascii: "]") {
            return index + 1 == range.upperBound ? 0 : nil
        }
        var count = 0
        while index < range.upperBound {
            guard bytes[index] == UInt8(ascii: "\"") else { return nil }
            // The closing quote: the first one not escaped; the scanner then checks the escapes.
            var end = index + 1
            while end < range.upperBound, bytes[end] != UInt8(ascii: "\"") {
                end += bytes[end] == UInt8(ascii: "\\") ? 2 : 1
            }
            guard end < range.upperBound, JSONScanner.string(bytes, in: index..<(end + 1)) != nil else { return nil }
            count += 1
            index = end + 1
            skipSpace()
            guard index < range.upperBound else { return nil }
            if bytes[index] == UInt8(ascii: "]") { return index + 1 == range.upperBound ? count : nil }
            guard bytes[index] == UInt8(ascii: ",") else { return nil }
            index += 1
            skipSpace()
        }
        return nil
    }
}
