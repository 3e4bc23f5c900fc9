import Glibc
import KernelSDK
import Synchronization

/// One line per call: time, request id, protocol, endpoint, method and path
/// (HTTP), status, duration, peer, bytes in and out; optionally request
/// headers, with secrets redacted. Text (`key=value`) or JSON. The line is
/// built as bytes, from the call's metadata in place: it runs on every call.
struct AccessLog: Sendable {
    let settings: ObserveSettings
    let writer: LogWriter?
    let kernel: PluginContext
    let clock = SecondClock()

    func write(_ request: RequestContext, id: String, outcome: CallCompletion, elapsed: Duration, bytesIn: Int) {
        var line = LineBuilder(json: settings.json)
        line.text("time", clock.now())
        line.text("request_id", id)
        line.meta("protocol", request, "protocol")
        line.text("endpoint", request.endpoint)
        line.meta("method", request, "http.method")
        line.meta("path", request, "http.path")
        line.number("status", outcome.httpStatus)
        if let error = outcome.error { line.text("error", error.rawValue) }
        line.raw("duration_ms", Self.milliseconds(elapsed))
        line.meta("peer", request, "peer")
        line.number("bytes_in", bytesIn)
        line.number("bytes_out", outcome.bodyCount)
        for name in settings.logHeaders {
            if settings.redacted.contains(name) {
                if request.hasMeta("header." + name) { line.text("header." + name, "[redacted]") }
            } else {
                line.meta("header." + name, request, "header." + name)
            }
        }
        if let writer {
            writer.append(line.finish())
        } else {
            kernel.log(.info, String(decoding: line.finish(), as: UTF8.self))
        }
    }

    /// Milliseconds with three decimals: "0.412".
    static func milliseconds(_ duration: Duration) -> String {
        let micros = duration.components.seconds * 1_000_000 + duration.components.attoseconds / 1_000_000_000_000
        let fraction = micros % 1000
        return "\(micros / 1000)." + (fraction < 10 ? "00" : fraction < 100 ? "0" : "") + String(fraction)
    }
}

/// A log line as bytes: `key=value` pairs, or a JSON object.
struct LineBuilder {
    private var bytes: [UInt8] = []
    private let json: Bool

    init(json: Bool) {
        self.json = json
        bytes.reserveCapacity(320)
        if json { bytes.append(0x7B) }
    }

    private mutating func key(_ name: String) {
        if json {
            if bytes.count > 1 { bytes.append(0x2C) }
            bytes.append(0x22)
            bytes.append(contentsOf: name.utf8)
            bytes.append(contentsOf: [0x22, 0x3A])
        } else {
            if !bytes.isEmpty { bytes.append(0x20) }
            bytes.append(contentsOf: name.utf8)
            bytes.append(0x3D)
        }
    }

    /// A number or other bare token: never quoted.
    mutating func raw(_ name: String, _ value: String) {
        key(name)
        bytes.append(contentsOf: value.utf8)
    }

    mutating func number(_ name: String, _ value: Int) { raw(name, String(value)) }

    mutating func text(_ name: String, _ value: String) {
        key(name)
        var value = value
        value.withUTF8 { appendValue(UnsafeRawBufferPointer($0)) }
    }

    /// Metadata `metaKey` in place; nothing when absent.
    mutating func meta(_ name: String, _ request: RequestContext, _ metaKey: String) {
        request.withMeta(metaKey) { value in
            guard let value else { return }
            key(name)
            appendValue(value)
        }
    }

    /// Bare in text when it is plain visible ASCII without quotes or `=`; else a JSON string.
    private mutating func appendValue(_ value: UnsafeRawBufferPointer) {
        let plain = !value.isEmpty && value.allSatisfy { $0 > 0x20 && $0 < 0x7F && $0 != 0x22 && $0 != 0x3D && $0 != 0x5C }
        if plain && !json {
            bytes.append(contentsOf: value)
            return
        }
        bytes.append(0x22)
        for byte in value {
            switch byte {
            case 0x22: bytes.append(contentsOf: [0x5C, 0x22])
            case 0x5C: bytes.append(contentsOf: [0x5C, 0x5C])
            case 0x0A: bytes.append(contentsOf: [0x5C, 0x6E])
            case 0x0D: bytes.append(contentsOf: [0x5C, 0x72])
            case 0x09: bytes.append(contentsOf: [0x5C, 0x74])
            case ..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                bytes.append(contentsOf: [0x5C, 0x75, 0x30, 0x30, hex[Int(byte >> 4)], hex[Int(byte & 0xF)]])
            default: bytes.append(byte)
            }
        }
        bytes.append(0x22)
    }

    consuming func finish() -> [UInt8] {
        if json { bytes.append(0x7D) }
        return bytes
    }
}

/// UTC time, RFC 3339 with milliseconds; the date and time of day are
/// formatted once per second.
final class SecondClock: Sendable {
    private let cached = Mutex<(second: Int, prefix: String)>((-1, ""))

    func now() -> String {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        let millis = Int(time.tv_nsec / 1_000_000)
        let millisText = millis < 10 ? "00\(millis)" : millis < 100 ? "0\(millis)" : "\(millis)"
        let prefix = cached.withLock { cached -> String in
            if time.tv_sec != cached.second {
                var seconds = time.tv_sec
                var parts = tm()
                gmtime_r(&seconds, &parts)
                func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
                cached = (time.tv_sec, "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T"
                    + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)).")
            }
            return cached.prefix
        }
        return prefix + millisText + "Z"
    }
}
