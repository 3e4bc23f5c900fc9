import Foundation
import Glibc
import KernelSDK
import Synchronization

/// A test plugin for the pubsub plugin, driving it through the SDK:
///
/// - middleware `probe.auth` (every endpoint, first) copies the headers
///   `x-user`, `x-tenant` and `x-roles` (envelope `meta` of the same names)
///   into `auth.subject`, `auth.tenant` and `auth.roles`;
/// - `probe.publish` `{"topic":…,"payload":…}` publishes on behalf of the
///   request (`kernel.publish(_:_:for:)`) and answers `{"offset":N}`;
/// - the durable consumer `probe.audit` on `audit.#` (3 attempts, 50 ms
///   backoff, from the oldest event): a payload with `"sleepMs":n` sleeps
///   first, `"fail":true` always throws, `"failTimes":n` throws on its
///   first n deliveries (of this run);
/// - filters: `secret.#` reaches only subscribers with role `cleared`;
///   `audit.hidden.#` reaches no durable consumer (protocol `consumer`);
/// - a publish rule refusing every topic under `locked.#`;
/// - an event handler on `orders.#`.
///
/// Each delivery and each `orders.#` event is one line of the file given by
/// `eventprobe.log` (default `<data>/events.log`), written in one `write`:
///
///     audit <run> <offset> <attempt>            (a delivery starts; attempt counts from 1 in this run)
///     orders <run> <offset> <tenant or -> <user or -> <publisher>
///
/// `<run>` is new each time the plugin is loaded (a restart or a reload).
struct EventProbePlugin: Plugin {
    static let name = "eventprobe"
    static let version = "1.0.0"
    static let description = "Drives the pubsub plugin through the SDK for the integration tests"
    static let dependsOn = ["pubsub"]

    func register(with kernel: PluginContext) async throws {
        let log = LineLog(path: kernel.config("log") ?? kernel.dataDirectory + "/events.log")
        let run = String(UInt32.random(in: 0x1000_0000...UInt32.max), radix: 16)
        let attempts = Mutex<[UInt64: Int]>([:])

        kernel.middleware("probe.auth", order: -1_000, endpoints: "*") { request in
            for (header, key) in [("x-user", "auth.subject"), ("x-tenant", "auth.tenant"), ("x-roles", "auth.roles")] {
                if let value = request.header(header), !value.isEmpty { request.setMeta(key, value) }
            }
            return .next
        }

        kernel.endpoint("probe.publish") { (body: PublishBody, request: RequestContext) async throws -> [String: UInt64] in
            ["offset": try await kernel.publish(body.topic, body.payload ?? .null, for: request)]
        }

        try kernel.consume("probe.audit", pattern: "audit.#", maxAttempts: 3, backoff: .milliseconds(50), startAt: .oldest) { event in
            let attempt = attempts.withLock { counts -> Int in
                counts[event.offset, default: 0] += 1
                return counts[event.offset]!
            }
            log.append("audit \(run) \(event.offset) \(attempt)")
            let behaviour = (try? event.decode(AuditPayload.self)) ?? AuditPayload()
            if let milliseconds = behaviour.sleepMs, milliseconds > 0 { try await Task.sleep(for: .milliseconds(milliseconds)) }
            if behaviour.fail == true { throw PluginError(.internal, "told to fail") }
            if let times = behaviour.failTimes, attempt <= times {
                throw PluginError(.unavailable, "told to fail \(times) times; attempt \(attempt)")
            }
        }

        try kernel.filterEvents("secret.#") { _, subscriber in subscriber.roles.contains("cleared") }
        try kernel.filterEvents("audit.hidden.#") { _, subscriber in subscriber.protocolName != "consumer" }
        try kernel.allowPublish("locked.#") { _, _, _ in false }

        kernel.on("orders.#") { event in
            log.append("orders \(run) \(event.offset) \(event.context.tenant ?? "-") \(event.context.user ?? "-") \(event.publisher)")
        }
    }
}

struct PublishBody: Codable, Sendable {
    var topic: String
    var payload: JSONValue?
}

/// How a `probe.audit` delivery behaves.
struct AuditPayload: Codable, Sendable {
    var fail: Bool?
    var failTimes: Int?
    var sleepMs: Int64?
}

/// Any JSON value, carried through as it came.
enum JSONValue: Codable, Sendable {
    case null
    case bool(Bool)
    case integer(Int64)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() { self = .null }
        else if let value = try? container.decode(Bool.self) { self = .bool(value) }
        else if let value = try? container.decode(Int64.self) { self = .integer(value) }
        else if let value = try? container.decode(Double.self) { self = .number(value) }
        else if let value = try? container.decode(String.self) { self = .string(value) }
        else if let value = try? container.decode([JSONValue].self) { self = .array(value) }
        else { self = .object(try container.decode([String: JSONValue].self)) }
    }

    func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .integer(let value): try container.encode(value)
        case .number(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }
}

/// Lines appended with one `write` each on an O_APPEND descriptor, so lines
/// of concurrent writers (and of a reloaded or restarted instance) never mix.
struct LineLog: Sendable {
    let path: String

    func append(_ line: String) {
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return }
        defer { close(fd) }
        let bytes = Array((line + "\n").utf8)
        _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    }
}

@_cdecl("kn_plugin_entry")
public func entry(_ host: UnsafeRawPointer?) -> UnsafeRawPointer? { export(EventProbePlugin.self, host: host) }
