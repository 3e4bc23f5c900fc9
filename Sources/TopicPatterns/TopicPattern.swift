/// An event topic pattern: dot-separated segments; `*` matches exactly one
/// segment, a final `#` (or its alias `>`) matches the rest (none or more).
///
/// ```swift
/// let pattern = try TopicPattern(validating: "orders.*.#")
/// pattern.matches("orders.eu.created")   // true
/// ```
///
/// Every publish matches its topic against every subscriber's pattern, so
/// matching allocates nothing. Immutable; any thread.
public struct TopicPattern: Sendable, Hashable, CustomStringConvertible {
    /// The pattern's segments as bytes (`>` kept as `#`).
    let segments: [[UInt8]]
    public let description: String

    /// Why a pattern was refused.
    public struct Invalid: Error, CustomStringConvertible {
        public let description: String
    }

    /// A checked pattern: non-empty, at most 255 bytes, no empty segment,
    /// `*` and `#` only as whole segments, `#` only last.
    public init(validating pattern: String) throws(Invalid) {
        let bytes = pattern.utf8
        func refuse(_ why: String) -> Invalid { Invalid(description: "invalid topic pattern '\(pattern)': \(why)") }
        guard !bytes.isEmpty else { throw refuse("it is empty") }
        guard bytes.count <= 255 else { throw refuse("longer than 255 bytes") }
        let parts = bytes.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        for (index, part) in parts.enumerated() {
            guard !part.isEmpty else { throw refuse("segment \(index + 1) is empty") }
            let wildcard = part.contains { $0 == UInt8(ascii: "*") || $0 == UInt8(ascii: "#") || $0 == UInt8(ascii: ">") }
            guard wildcard else { continue }
            guard part.count == 1 else { throw refuse("a wildcard must be a whole segment ('\(String(decoding: part, as: UTF8.self))')") }
            if part.first != UInt8(ascii: "*"), index != parts.count - 1 {
                throw refuse("'\(String(decoding: part, as: UTF8.self))' may only be the last segment")
            }
        }
        guard !bytes.contains(0) else { throw refuse("it contains a NUL byte") }
        self.init(pattern)
    }

    /// A pattern taken as given (a kernel registration, checked elsewhere or not at all).
    public init(_ pattern: String) {
        description = pattern
        segments = pattern.utf8.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
            .map { $0.elementsEqual([UInt8(ascii: ">")]) ? Self.hash : Array($0) }
    }

    /// Whether the pattern has no wildcard: it matches one topic only.
    public var isLiteral: Bool { !segments.contains(Self.star) && !segments.contains(Self.hash) }

    public func matches(_ topic: String) -> Bool {
        var topic = topic
        return topic.withUTF8 { matches(bytes: $0) }
    }

    /// `*` matches one segment; a final `#` matches the rest (none or more).
    public func matches(bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        var start = 0
        var index = 0
        while true {
            if index < segments.count, segments[index] == Self.hash, index == segments.count - 1 { return true }
            guard index < segments.count else { return false }
            var end = start
            while end < bytes.count && bytes[end] != UInt8(ascii: ".") { end += 1 }
            let segment = segments[index]
            if segment != Self.star && !segment.elementsEqual(bytes[start..<end]) { return false }
            index += 1
            if end == bytes.count {
                return index == segments.count || (index == segments.count - 1 && segments[index] == Self.hash)
            }
            start = end + 1
        }
    }

    private static let star: [UInt8] = [UInt8(ascii: "*")]
    private static let hash: [UInt8] = [UInt8(ascii: "#")]
}
