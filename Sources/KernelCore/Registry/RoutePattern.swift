/// An HTTP route path such as `/users/:id` or `/files/*`.
struct RoutePattern: Sendable, CustomStringConvertible {
    enum Segment: Sendable, Equatable {
        case literal(String)
        case parameter(String)
        case rest
    }

    let segments: [Segment]
    let description: String

    /// The pattern with parameter names left out: `/users/:id` and
    /// `/users/:uid` have one shape and would match the same paths.
    var shape: String {
        "/" + segments.map { segment in
            switch segment {
            case .literal(let text): text
            case .parameter: ":"
            case .rest: "*"
            }
        }.joined(separator: "/")
    }

    /// Orders routes so the most specific matches first: segment by segment,
    /// a literal before a parameter before the rest.
    func isMoreSpecific(than other: RoutePattern) -> Bool {
        func rank(_ segment: Segment) -> Int {
            switch segment {
            case .literal: 0
            case .parameter: 1
            case .rest: 2
            }
        }
        for (mine, theirs) in zip(segments, other.segments) where rank(mine) != rank(theirs) {
            return rank(mine) < rank(theirs)
        }
        return segments.count > other.segments.count
    }

    /// Nil when the pattern is malformed (empty parameter name, `*` not last).
    init?(_ path: String) {
        let parts = Self.split(path)
        var segments: [Segment] = []
        for (index, part) in parts.enumerated() {
            if part == "*" {
                guard index == parts.count - 1 else { return nil }
                segments.append(.rest)
            } else if part.hasPrefix(":") {
                let name = String(part.dropFirst())
                guard !name.isEmpty else { return nil }
                segments.append(.parameter(name))
            } else {
                segments.append(.literal(String(part)))
            }
        }
        self.segments = segments
        self.description = "/" + parts.joined(separator: "/")
    }

    /// The captured parameters when `path` matches, else nil.
    func match(_ path: String) -> [(String, String)]? {
        let parts = Self.split(path)
        var captures: [(String, String)] = []
        for (index, segment) in segments.enumerated() {
            switch segment {
            case .rest:
                captures.append(("*", parts[index...].joined(separator: "/")))
                return captures
            case .literal(let literal):
                guard index < parts.count, parts[index] == literal else { return nil }
            case .parameter(let name):
                guard index < parts.count else { return nil }
                captures.append((name, String(parts[index])))
            }
        }
        return parts.count == segments.count ? captures : nil
    }

    /// The non-empty segments between `/` scalars. Not `Character`s: a
    /// combining mark after a `/` joins it into one grapheme, which a
    /// `Character` split would not cut.
    private static func split(_ path: String) -> [Substring] {
        path.unicodeScalars.split(separator: "/", omittingEmptySubsequences: true).map(Substring.init)
    }
}

/// A path segment with its `%XX` escapes decoded, as UTF-8. A segment whose
/// escapes are malformed, decode to invalid UTF-8 or to a NUL (which C
/// readers would cut at) is kept as it came.
func percentDecoded(_ segment: String) -> String {
    guard segment.utf8.contains(UInt8(ascii: "%")) else { return segment }
    var bytes: [UInt8] = []
    bytes.reserveCapacity(segment.utf8.count)
    var iterator = segment.utf8.makeIterator()
    while let byte = iterator.next() {
        guard byte == UInt8(ascii: "%") else {
            bytes.append(byte)
            continue
        }
        guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else { return segment }
        guard high << 4 | low != 0 else { return segment }
        bytes.append(high << 4 | low)
    }
    return String(validating: bytes, as: UTF8.self) ?? segment
}

private func hexValue(_ byte: UInt8) -> UInt8? {
    switch byte {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
    case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
    case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
    default: nil
    }
}
