import Foundation

/// Conversions from the kernel's JSON values to printable text.
enum Output {
    /// The `--json` form: pretty, keys sorted so output is stable for diffs and scripts.
    static func prettyJSON(_ object: JSONObject) throws(CtlError) -> String {
        do {
            let data = try JSONSerialization.data(
                withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
            return String(decoding: data, as: UTF8.self)
        } catch {
            throw .transport("cannot print result as JSON: \(error)")
        }
    }

    /// `path` made absolute against the current directory, without resolving symlinks.
    static func absolutePath(_ path: String) -> String {
        let base = path.hasPrefix("/") ? URL(fileURLWithPath: path)
            : URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent(path)
        return base.standardizedFileURL.path
    }

    /// One JSON value as a table cell: `-` for missing or null, lists joined
    /// with commas, objects as `key=value` pairs.
    static func text(_ value: Any?) -> String {
        switch value {
        case nil, is NSNull: return "-"
        case let string as String: return string
        case let number as NSNumber:
            // JSONSerialization yields NSNumber for booleans too; objCType tells them apart.
            if String(cString: number.objCType) == "c" { return number.boolValue ? "true" : "false" }
            return number.stringValue
        case let list as [Any]: return list.isEmpty ? "-" : list.map { text($0) }.joined(separator: ", ")
        case let object as JSONObject:
            return object.isEmpty ? "-"
                : object.keys.sorted().map { "\($0)=\(text(object[$0]))" }.joined(separator: ", ")
        case let other?: return "\(other)"
        }
    }

    /// Milliseconds as a short duration: `850ms`, `12.3s`, `4m05s`, `2h03m09s`, `3d04h`.
    static func duration(milliseconds value: Any?) -> String {
        guard let ms = (value as? NSNumber)?.int64Value else { return text(value) }
        if ms < 1_000 { return "\(ms)ms" }
        if ms < 60_000 { return String(format: "%.1fs", Double(ms) / 1_000) }
        let seconds = Int(ms / 1_000)
        func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
        if seconds < 3_600 { return "\(seconds / 60)m\(two(seconds % 60))s" }
        if seconds < 86_400 { return "\(seconds / 3_600)h\(two(seconds % 3_600 / 60))m\(two(seconds % 60))s" }
        return "\(seconds / 86_400)d\(two(seconds % 86_400 / 3_600))h"
    }

    /// Milliseconds since the epoch as an ISO 8601 UTC timestamp.
    static func timestamp(milliseconds value: Any?) -> String {
        guard let ms = (value as? NSNumber)?.doubleValue else { return text(value) }
        let formatter = ISO8601DateFormatter()
        return formatter.string(from: Date(timeIntervalSince1970: ms / 1_000))
    }

    /// `host:port`, bracketing IPv6 hosts so the port stays unambiguous.
    static func address(host: Any?, port: Any?) -> String {
        let host = text(host)
        return (host.contains(":") ? "[\(host)]" : host) + ":" + text(port)
    }
}
