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
        for (number, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = rawLine.trimmingWhitespace()
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if line.hasPrefix("[") {
                guard line.hasSuffix("]"), line.count > 2 else {
                    throw KernelError(1, "config line \(number + 1): malformed section header '\(line)'")
                }
                section = String(line.dropFirst().dropLast()).trimmingWhitespace()
                continue
            }
            guard let equals = line.firstIndex(of: "=") else {
                throw KernelError(1, "config line \(number + 1): expected 'key = value', found '\(line)'")
            }
            let key = String(line[..<equals]).trimmingWhitespace()
            var value = String(line[line.index(after: equals)...]).trimmingWhitespace()
            if value.count >= 2, value.hasPrefix("\""), value.hasSuffix("\"") { value = String(value.dropFirst().dropLast()) }
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
    func trimmingWhitespace() -> String {
        var slice = Substring(self)
        while let first = slice.first, first.isWhitespace { slice.removeFirst() }
        while let last = slice.last, last.isWhitespace { slice.removeLast() }
        return String(slice)
    }
}
