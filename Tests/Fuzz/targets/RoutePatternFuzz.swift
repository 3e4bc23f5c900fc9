// Checks RoutePattern: a pattern that parses matches a path built from it, re-parses to itself, and a match captures what rebuilds the path.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var input = FuzzInput(data, size)
    let patternText = input.text()
    let path = input.text()

    for segment in path.unicodeScalars.split(separator: "/").map(String.init) {
        let decoded = percentDecoded(segment)
        if !segment.contains("%") { require(decoded == segment, "decoding changed '\(segment)' with no escape") }
        require(decoded == segment || !decoded.utf8.contains(0), "decoded a NUL from '\(segment)'")
    }

    guard let pattern = RoutePattern(patternText) else { return 0 }
    guard let again = RoutePattern(pattern.description) else { fail("'\(pattern)' does not re-parse") }
    require(again.segments == pattern.segments && again.shape == pattern.shape, "'\(pattern)' re-parses differently")

    // A path built from the pattern: each parameter gets its own value, the rest two segments.
    var built: [String] = []
    var expected: [(String, String)] = []
    for (index, segment) in pattern.segments.enumerated() {
        switch segment {
        case .literal(let text): built.append(text)
        case .parameter(let name):
            built.append("v\(index)")
            expected.append((name, "v\(index)"))
        case .rest:
            built.append("a/b")
            expected.append(("*", "a/b"))
        }
    }
    let builtPath = "/" + built.joined(separator: "/")
    guard let captures = pattern.match(builtPath) else { fail("'\(pattern)' does not match '\(builtPath)'") }
    require(captures.elementsEqual(expected, by: { $0 == $1 }), "'\(pattern)' on '\(builtPath)' captured \(captures)")
    require(!pattern.isMoreSpecific(than: pattern), "'\(pattern)' is more specific than itself")

    // The input path: captures put back into the pattern give the path again.
    if let captures = pattern.match(path) {
        var values = captures.makeIterator()
        var rebuilt: [String] = []
        for segment in pattern.segments {
            switch segment {
            case .literal(let text): rebuilt.append(text)
            case .parameter, .rest:
                guard let value = values.next() else { fail("too few captures for '\(pattern)'") }
                if !value.1.isEmpty || segment != .rest { rebuilt.append(value.1) }
            }
        }
        require(values.next() == nil, "too many captures for '\(pattern)'")
        let normalized = path.unicodeScalars.split(separator: "/").map(String.init).joined(separator: "/")
        require(rebuilt.joined(separator: "/") == normalized, "'\(pattern)' on '\(path)' rebuilds '\(rebuilt)'")
    }
    if let other = RoutePattern(path) {
        require(!(pattern.isMoreSpecific(than: other) && other.isMoreSpecific(than: pattern)),
                "'\(pattern)' and '\(other)' are each more specific than the other")
    }
    return 0
}
