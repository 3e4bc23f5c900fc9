/// Column-aligned text for the human-readable output.
struct Table {
    let headers: [String]
    private(set) var rows: [[String]] = []

    init(_ headers: String...) { self.headers = headers }

    mutating func append(_ row: [String]) { rows.append(row) }

    /// Columns separated by two spaces, without trailing blanks.
    func render(indent: String = "") -> String {
        let all = [headers] + rows
        var widths = [Int](repeating: 0, count: headers.count)
        for row in all {
            for (column, cell) in row.prefix(widths.count).enumerated() {
                widths[column] = max(widths[column], cell.count)
            }
        }
        return all.map { row in
            let cells = row.prefix(widths.count).enumerated().map { column, cell in
                column == widths.count - 1 ? cell : cell.padding(to: widths[column])
            }
            return indent + cells.joined(separator: "  ").trimmingTrailingSpaces()
        }.joined(separator: "\n")
    }
}

/// `key: value` lines with the values aligned.
struct KeyValueList {
    private(set) var pairs: [(key: String, value: String)] = []

    mutating func append(_ key: String, _ value: String) { pairs.append((key, value)) }

    /// A value with several lines (e.g. one listener per line) is continued
    /// under the first one.
    func render(indent: String = "") -> String {
        let width = (pairs.map(\.key.count).max() ?? 0) + 2
        return pairs.map { key, value in
            let lines = value.split(separator: "\n", omittingEmptySubsequences: false)
            let head = indent + "\(key):".padding(to: width) + (lines.first.map(String.init) ?? "")
            let rest = lines.dropFirst().map { indent + String(repeating: " ", count: width) + $0 }
            return ([head] + rest).joined(separator: "\n")
        }.joined(separator: "\n")
    }
}

extension String {
    /// Pads with spaces on the right up to `width` characters.
    func padding(to width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }

    func trimmingTrailingSpaces() -> String {
        var result = self
        while result.last == " " { result.removeLast() }
        return result
    }
}
