import Glibc
import KernelSDK

/// One line per call: time, request id, protocol, endpoint, method and path
/// (HTTP), status, duration, peer, bytes in and out; optionally the request
/// headers, with secrets redacted. Text (`key=value`) or JSON.
struct AccessLog: Sendable {
    let settings: ObserveSettings
    let writer: LogWriter?
    let kernel: PluginContext

    func write(_ request: RequestContext, id: String, outcome: CallCompletion, elapsed: Duration, bytesIn: Int) {
        var fields: [(String, String, quoted: Bool)] = [
            ("time", Self.timestamp(), true), ("request_id", id, true), ("protocol", request.protocolName, true),
            ("endpoint", request.endpoint, true),
        ]
        if let method = request.meta("http.method") { fields.append(("method", method, true)) }
        if let path = request.meta("http.path") { fields.append(("path", path, true)) }
        fields.append(("status", String(outcome.httpStatus), false))
        if let error = outcome.error { fields.append(("error", error.rawValue, true)) }
        fields.append(("duration_ms", Self.milliseconds(elapsed), false))
        fields.append(("peer", request.meta("peer") ?? "", true))
        fields.append(("bytes_in", String(bytesIn), false))
        fields.append(("bytes_out", String(outcome.bodyCount), false))
        for name in settings.logHeaders {
            guard let value = request.header(name) else { continue }
            fields.append(("header." + name, settings.redacted.contains(name) ? "[redacted]" : value, true))
        }
        let line = settings.json ? Self.json(fields) : Self.text(fields)
        if let writer {
            writer.append(line)
        } else {
            kernel.log(.info, line)
        }
    }

    static func text(_ fields: [(String, String, quoted: Bool)]) -> String {
        var line = ""
        for (key, value, _) in fields {
            if !line.isEmpty { line += " " }
            let bare = !value.isEmpty && value.utf8.allSatisfy { $0 > 0x20 && $0 != 0x22 && $0 != 0x3D && $0 < 0x7F }
            line += key + "=" + (bare ? value : jsonString(value))
        }
        return line
    }

    static func json(_ fields: [(String, String, quoted: Bool)]) -> String {
        "{" + fields.map { jsonString($0.0) + ":" + ($0.quoted ? jsonString($0.1) : $0.1) }.joined(separator: ",") + "}"
    }

    static func jsonString(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    /// Milliseconds with three decimals: "0.412".
    static func milliseconds(_ duration: Duration) -> String {
        let micros = duration.components.seconds * 1_000_000 + duration.components.attoseconds / 1_000_000_000_000
        let fraction = String(micros % 1000)
        return "\(micros / 1000)." + String(repeating: "0", count: 3 - fraction.count) + fraction
    }

    /// UTC, RFC 3339 with milliseconds.
    static func timestamp() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var seconds = now.tv_sec
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        let millis = Int(now.tv_nsec / 1_000_000)
        let milliText = millis < 10 ? "00\(millis)" : millis < 100 ? "0\(millis)" : "\(millis)"
        return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T"
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)).\(milliText)Z"
    }
}
