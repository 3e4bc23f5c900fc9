// Checks Configuration: a parsed file written back as INI parses to the same sections, and `--set` stores exactly what it was given.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var input = FuzzInput(data, size)
    let text = input.text()
    let assignment = input.text()

    if let config = try? Configuration(parsing: text) {
        // Values are quoted so that their surrounding spaces survive.
        var written = ""
        for (section, entries) in config.sections.sorted(by: { $0.key < $1.key }) {
            written += "[\(section)]\n"
            for (key, value) in entries.sorted(by: { $0.key < $1.key }) { written += "\(key) = \"\(value)\"\n" }
        }
        do {
            let again = try Configuration(parsing: written)
            require(again.sections == config.sections, "written back as \(written.debugDescription), reads \(again.sections)")
        } catch {
            fail("written back as \(written.debugDescription), refused: \(error)")
        }
        for (section, entries) in config.sections {
            require(config.section(section) == entries, "section(\(section)) differs")
            for key in entries.keys { _ = config.integer(section, key, default: 0) }
        }
    }

    var config = Configuration()
    if (try? config.set(assignment)) != nil {
        // section.key=value: the section before the first dot, the value after the first '='.
        guard let equals = assignment.firstIndex(of: "="), let dot = assignment[..<equals].firstIndex(of: ".") else {
            fail("accepted '\(assignment)' without section.key=")
        }
        let section = String(assignment[..<dot])
        let key = String(assignment[assignment.index(after: dot)..<equals])
        require(config.sections == [section: [key: String(assignment[assignment.index(after: equals)...])]],
                "'\(assignment)' stored \(config.sections)")
    }
    return 0
}
