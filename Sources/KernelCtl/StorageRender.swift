import Foundation

/// Human-readable renderings of the storage endpoints' answers.
enum StorageRender {
    static func status(_ result: JSONObject) -> String {
        var lines = KeyValueList()
        lines.append("backend", Output.text(result["backend"]))
        lines.append("location", Output.text(result["location"]))
        lines.append("state", Output.text(result["state"]))
        lines.append("size", bytes(result["size_bytes"]))
        lines.append("sql spaces", Output.text(result["sql_spaces"]))
        lines.append("open transactions", Output.text(result["open_transactions"]))
        var namespaces = Table("NAMESPACE", "KEYS")
        for namespace in objects(result["namespaces"]) {
            namespaces.append([Output.text(namespace["name"]), Output.text(namespace["keys"])])
        }
        var streams = Table("NAMESPACE", "STREAM", "FIRST", "NEXT", "RECORDS")
        for stream in objects(result["streams"]) {
            streams.append(["namespace", "name", "first_offset", "next_offset", "records"].map { Output.text(stream[$0]) })
        }
        return [lines.render(),
                namespaces.rows.isEmpty ? "namespaces: none" : "namespaces:\n" + namespaces.render(indent: "  "),
                streams.rows.isEmpty ? "log streams: none" : "log streams:\n" + streams.render(indent: "  ")]
            .joined(separator: "\n\n")
    }

    static func page(_ result: JSONObject) -> String {
        var table = Table("KEY", "VERSION", "EXPIRES", "VALUE")
        for entry in objects(result["entries"]) {
            let expiry = entry["expires_at_ms"].map { Output.timestamp(milliseconds: $0) } ?? "-"
            table.append([Output.text(entry["key"]), Output.text(entry["version"]), expiry, shortened(value(entry["value"]))])
        }
        var text = table.rows.isEmpty ? "no keys" : table.render()
        if let cursor = result["next_cursor"] as? String { text += "\n\nmore: --cursor '\(cursor)'" }
        return text
    }

    static func batch(_ result: JSONObject) -> String {
        var lines: [String] = []
        if (result["gap"] as? Bool) == true {
            lines.append("gap: records before offset \(Output.text(result["first_offset"])) were trimmed")
        }
        var table = Table("OFFSET", "APPENDED", "PAYLOAD")
        for record in objects(result["records"]) {
            table.append([Output.text(record["offset"]), Output.timestamp(milliseconds: record["appended_at_ms"]),
                          shortened(value(record["payload"]))])
        }
        lines.append(table.rows.isEmpty ? "no records" : table.render())
        lines.append("retained: \(Output.text(result["first_offset"]))..<\(Output.text(result["next_offset"]))")
        return lines.joined(separator: "\n")
    }

    /// A value as printed: text as is, binary as `base64:...`.
    static func value(_ value: Any?) -> String {
        if let text = value as? String { return text }
        if let binary = value as? JSONObject, let base64 = binary["base64"] as? String { return "base64:" + base64 }
        return Output.text(value)
    }

    static func bytes(_ value: Any?) -> String {
        guard let count = (value as? NSNumber)?.doubleValue else { return Output.text(value) }
        for (unit, size) in [("GiB", 1_073_741_824.0), ("MiB", 1_048_576.0), ("KiB", 1_024.0)] where count >= size {
            return String(format: "%.1f %@", count / size, unit)
        }
        return "\(Int(count)) B"
    }

    private static func shortened(_ text: String) -> String {
        let line = text.replacingOccurrences(of: "\n", with: "\\n")
        return line.count > 80 ? String(line.prefix(77)) + "..." : line
    }

    private static func objects(_ value: Any?) -> [JSONObject] {
        (value as? [Any] ?? []).compactMap { $0 as? JSONObject }
    }
}
