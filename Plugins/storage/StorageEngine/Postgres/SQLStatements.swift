/// Splits SQL text into statements at top-level semicolons. PostgresNIO
/// speaks the extended protocol only, which takes one statement at a time,
/// while a migration may hold several. Quotes ('...', "..."), dollar
/// quotes ($$...$$, $tag$...$tag$) and comments (-- and /* */) are skipped.
public enum SQLStatements {
    public static func split(_ sql: String) -> [String] {
        let text = Array(sql.unicodeScalars)
        var statements: [String] = []
        var current = String.UnicodeScalarView()
        var index = 0

        func flush() {
            let statement = String(current).trimmingWhitespace()
            if !statement.isEmpty { statements.append(statement) }
            current = String.UnicodeScalarView()
        }
        func copy(until end: Int) {
            current.append(contentsOf: text[index..<min(end, text.count)])
            index = min(end, text.count)
        }
        func find(_ needle: [Unicode.Scalar], from start: Int) -> Int? {
            guard !needle.isEmpty, start <= text.count - needle.count else { return nil }
            for position in start...(text.count - needle.count) where Array(text[position..<position + needle.count]) == needle {
                return position
            }
            return nil
        }

        while index < text.count {
            let scalar = text[index]
            let next: Unicode.Scalar? = index + 1 < text.count ? text[index + 1] : nil
            switch scalar {
            case ";":
                index += 1
                flush()
            case "'", "\"":
                // A doubled quote inside is an escaped quote: scanning on finds the next one.
                var end = index + 1
                while end < text.count && text[end] != scalar { end += 1 }
                copy(until: end + 1)
            case "-" where next == "-":
                var end = index
                while end < text.count && text[end] != "\n" { end += 1 }
                copy(until: end)
            case "/" where next == "*":
                copy(until: (find(["*", "/"], from: index + 2) ?? text.count) + 2)
            case "$":
                // $tag$ ... $tag$, where tag is empty or an identifier.
                var end = index + 1
                while end < text.count && (text[end].properties.isAlphabetic || text[end] == "_" || ("0"..."9").contains(text[end])) {
                    end += 1
                }
                if end < text.count && text[end] == "$" && !(index + 1 < end && ("0"..."9").contains(text[index + 1])) {
                    let tag = Array(text[index...end])
                    let close = find(tag, from: end + 1) ?? text.count
                    copy(until: close + tag.count)
                } else {
                    copy(until: index + 1) // a $1 parameter
                }
            default:
                current.append(scalar)
                index += 1
            }
        }
        flush()
        return statements
    }
}

extension String {
    func trimmingWhitespace() -> String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
              let last = scalars.lastIndex(where: { !$0.properties.isWhitespace }) else { return "" }
        return String(scalars[first...last])
    }
}
