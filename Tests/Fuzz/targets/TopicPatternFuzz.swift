// Checks TopicPattern: matching agrees with a plain recursive matcher, and a valid pattern matches topics built from it.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var input = FuzzInput(data, size)
    let patternText = input.text()
    let topic = input.text()

    // Registrations are taken as given, so any text must match like the model.
    let given = TopicPattern(patternText)
    require(given.description == patternText, "description changed")
    let segments = split(patternText).map { $0 == [UInt8(ascii: ">")] ? [UInt8(ascii: "#")] : $0 }
    require(given.matches(topic) == model(segments[...], split(topic)[...]),
            "'\(patternText)' on '\(topic)': matches says \(given.matches(topic))")

    guard let pattern = try? TopicPattern(validating: patternText) else { return 0 }
    require(!patternText.isEmpty && patternText.utf8.count <= 255 && !patternText.utf8.contains(0), "accepted '\(patternText)'")
    require(pattern == given, "validated and given patterns differ")
    // Built topics: `*` becomes one segment, a final `#` none, one or two.
    for rest in [nil, "x", "x.y"] as [String?] {
        var parts: [String] = []
        for segment in segments {
            switch segment {
            case [UInt8(ascii: "*")]: parts.append("s")
            case [UInt8(ascii: "#")]: if let rest { parts.append(rest) }
            default: parts.append(String(decoding: segment, as: UTF8.self))
            }
        }
        // `#` alone matching nothing leaves no segment; a topic has at least one.
        let built = parts.isEmpty ? "x" : parts.joined(separator: ".")
        require(pattern.matches(built), "'\(patternText)' does not match '\(built)'")
    }
    if pattern.isLiteral { require(pattern.matches(patternText), "literal '\(patternText)' does not match itself") }
    return 0
}

private func split(_ text: String) -> [[UInt8]] {
    text.utf8.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false).map(Array.init)
}

/// `*` is any one segment; `#` as the last pattern segment is any number of
/// segments, none included; anything else matches itself only.
private func model(_ pattern: ArraySlice<[UInt8]>, _ topic: ArraySlice<[UInt8]>) -> Bool {
    guard let first = pattern.first else { return topic.isEmpty }
    if first == [UInt8(ascii: "#")] && pattern.count == 1 { return true }
    guard let segment = topic.first else { return false }
    guard first == [UInt8(ascii: "*")] || first == segment else { return false }
    return model(pattern.dropFirst(), topic.dropFirst())
}
