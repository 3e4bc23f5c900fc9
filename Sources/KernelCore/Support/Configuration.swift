/// The kernel's configuration: one section per plugin, plus `[kernel]`.
///
/// File format (INI):
/// ```
/// # comment
/// [kernel]
/// drain_timeout_ms = 10000
///
/// [http]
/// port = 8080
/// host = "0.0.0.0"
/// ```
/// Command-line overrides `--set <section>.<key>=<value>` win over the file.
public struct Configuration: Sendable {
    public private(set) var sections: [String: [String: String]] = [:]

    public init() {}

    public init(parsing text: String) throws(KernelError) {
        var section = "kernel"
        // Lines and delimiters are found by scalar, not Character: "\r\n" is one
        // Character (a CRLF file would be one line), and a combining mark makes
        // one Character of the delimiter before it (`[`, `=` or `"` and U+0301).
        for (number, rawLine) in text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = String(rawLine).trimmingWhitespace().unicodeScalars
            guard let first = line.first, first != "#", first != ";" else { continue }
            if first == "[" {
                // `[ ]` is as empty as `[]`: its keys would land in a section nobody reads.
                let name = line.last == "]" && line.count > 2 ? String(line.dropFirst().dropLast()).trimmingWhitespace() : ""
                guard !name.isEmpty else {
                    throw KernelError(1, "config line \(number + 1): malformed section header '\(String(line))'")
                }
                section = name
                continue
            }
            guard let equals = line.firstIndex(of: "=") else {
                throw KernelError(1, "config line \(number + 1): expected 'key = value', found '\(String(line))'")
            }
            let key = String(line[..<equals]).trimmingWhitespace()
            var value = String(line[line.index(after: equals)...]).trimmingWhitespace()
            if value.unicodeScalars.count >= 2, value.unicodeScalars.first == "\"", value.unicodeScalars.last == "\"" {
                value = String(value.unicodeScalars.dropFirst().dropLast())
            }
            guard !key.isEmpty else { throw KernelError(1, "config line \(number + 1): empty key") }
            sections[section, default: [:]][key] = value
        }
    }

    /// Applies `section.key=value`.
    public mutating func set(_ assignment: String) throws(KernelError) {
        guard let equals = assignment.firstIndex(of: "="),
              let dot = assignment[..<equals].firstIndex(of: ".") else {
            throw KernelError(1, "--set expects <plugin>.<key>=<value>, got '\(assignment)'")
        }
        let section = String(assignment[..<dot])
        let key = String(assignment[assignment.index(after: dot)..<equals])
        guard !section.isEmpty, !key.isEmpty else {
            throw KernelError(1, "--set expects <plugin>.<key>=<value>, got '\(assignment)'")
        }
        sections[section, default: [:]][key] = String(assignment[assignment.index(after: equals)...])
    }

    public func section(_ name: String) -> [String: String] { sections[name] ?? [:] }

    public func integer(_ section: String, _ key: String, default value: Int) -> Int {
        sections[section]?[key].flatMap { Int($0) } ?? value
    }
}

extension StringProtocol {
    /// Trimmed by scalar: a prepended mark (U+070F) and the space after it
    /// are one Character, which is not white space as a whole.
    func trimmingWhitespace() -> String {
        var scalars = Substring(self).unicodeScalars
        while let first = scalars.first, first.properties.isWhitespace { scalars.removeFirst() }
        while let last = scalars.last, last.properties.isWhitespace { scalars.removeLast() }
        return String(scalars)
    }
}
