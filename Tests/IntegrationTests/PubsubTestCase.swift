import Foundation
import Glibc
import XCTest

/// The pubsub suite, run against each storage backend by PubsubSQLiteTests
/// and PubsubPostgresTests. A kernel has the three transports (ws and tcp on
/// free ports), storage, pubsub and the eventprobe fixture, whose
/// middleware turns the headers (envelope `meta`) `x-user`, `x-tenant` and
/// `x-roles` into `auth.*`. Its durable consumer and its `orders.#` handler
/// write lines to a log file outside the kernel's directory, so that a
/// restarted kernel writes to the same one:
///
///     audit <run> <offset> <attempt>
///     orders <run> <offset> <tenant or -> <user or -> <publisher>
class PubsubTestCase: StorageTestCase {
    static let pubsubPlugins = ["libhttp.so", "libws.so", "libtcp.so", "libstorage.so", "libpubsub.so", "libeventprobe.so"]

    /// A kernel of this suite and the ports of its transports.
    struct Node {
        let process: KernelProcess
        let ws: Int
        let tcp: Int
        var http: Int { process.httpPort }
    }

    private var logDirectory: String?

    /// The eventprobe's log file of this test (its directory is removed when the test passes).
    var probeLogPath: String {
        get throws {
            if let logDirectory { return logDirectory + "/events.log" }
            let directory = try makeTemporaryDirectory("kn-ev")
            logDirectory = directory
            addTeardownBlock { [weak self] in
                if (self?.testRun?.totalFailureCount ?? 0) == 0 { try? FileManager.default.removeItem(atPath: directory) }
            }
            return directory + "/events.log"
        }
    }

    /// Every setting of a pubsub kernel: the backend (a new database on
    /// PostgreSQL), free ws and tcp ports, the probe's log, then `extra`.
    /// Keep it to start a second kernel on the same data.
    func pubsubSettings(_ extra: [String] = [], file: StaticString = #filePath, line: UInt = #line) throws -> [String] {
        let backend: [String]
        do {
            backend = try backendSettings()
        } catch {
            XCTFail("PostgreSQL could not be started: \(error)", file: file, line: line)
            throw error
        }
        return backend + ["ws.port=0", "tcp.port=0", "eventprobe.log=\(try probeLogPath)"] + extra
    }

    func startPubsub(_ settings: [String], plugins: [String] = PubsubTestCase.pubsubPlugins,
                     file: StaticString = #filePath, line: UInt = #line) throws -> Node {
        let process = try startKernel(plugins: plugins, settings: settings, file: file, line: line)
        return Node(process: process, ws: try process.listenerPort("ws"), tcp: try process.listenerPort("tcp"))
    }

    func startPubsub(extra: [String] = [], file: StaticString = #filePath, line: UInt = #line) throws -> Node {
        try startPubsub(try pubsubSettings(extra, file: file, line: line), file: file, line: line)
    }

    /// Stops `first` (SIGTERM, or SIGKILL with `kill`) and starts a kernel
    /// on its data: a copy of the storage plugin's files (SQLite), or the
    /// same database (PostgreSQL, in `settings`).
    func restartPubsub(_ first: Node, settings: [String], kill: Bool = false) throws -> Node {
        if kill {
            Glibc.kill(first.process.pid, SIGKILL)
            XCTAssertTrue(waitUntil(timeout: 10) { !first.process.isRunning }, "the kernel survived SIGKILL")
        } else {
            first.process.stop()
        }
        let second = try KernelProcess(plugins: Self.pubsubPlugins, settings: settings)
        addTeardownBlock { [weak self] in
            second.stop()
            if (self?.testRun?.totalFailureCount ?? 0) > 0 {
                print("""
                    ---- second kernel log (\(second.logPath)) ----
                    \(second.log())
                    ---- end of second kernel log; directory kept: \(second.root) ----
                    """)
            } else {
                second.removeDirectory()
            }
        }
        let files = first.process.dataDirectory + "/plugins/storage"
        if FileManager.default.fileExists(atPath: files) {
            try FileManager.default.createDirectory(atPath: second.dataDirectory + "/plugins", withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: files, toPath: second.dataDirectory + "/plugins/storage")
        }
        try second.start(waitingFor: ["http", "ws", "tcp", "storage", "pubsub", "eventprobe"])
        return Node(process: second, ws: try second.listenerPort("ws"), tcp: try second.listenerPort("tcp"))
    }

    // MARK: HTTP

    /// `POST /events`.
    func publish(_ node: Node, _ topic: String, _ payload: Any = [String: Any](), context: [String: Any]? = nil,
                 headers: [(String, String)] = []) throws -> HTTPResponse {
        try HTTP.request(port: node.http, "POST", "/events", headers: [("Content-Type", "application/json")] + headers,
                         body: PubsubWire.publishBody(topic, payload, context: context))
    }

    /// `POST /events`, asserted to succeed: the offset.
    @discardableResult
    func published(_ node: Node, _ topic: String, _ payload: Any = [String: Any](), context: [String: Any]? = nil,
                   headers: [(String, String)] = [], file: StaticString = #filePath, line: UInt = #line) throws -> UInt64 {
        let response = try publish(node, topic, payload, context: context, headers: headers)
        XCTAssertEqual(response.status, 200, "POST /events \(topic): \(response.summary)", file: file, line: line)
        guard let offset = PubsubWire.offset(response), offset > 0 else {
            XCTFail("POST /events \(topic) answered no offset: \(response.summary)", file: file, line: line)
            throw SetupError("no offset")
        }
        return offset
    }

    /// `GET /events?…` (one request, no wait unless `query` has one): the answer and its events.
    func poll(_ node: Node, _ query: String, headers: [(String, String)] = [],
              file: StaticString = #filePath, line: UInt = #line) throws -> (response: HTTPResponse, events: [[String: Any]]) {
        let response = try HTTP.request(port: node.http, "GET", "/events?" + query, headers: headers)
        guard response.status == 200 else { return (response, []) }
        let events = (try? JSONSerialization.jsonObject(with: Data(response.body))) as? [[String: Any]]
        XCTAssertNotNil(events, "GET /events?\(query) is not a JSON array of objects: \(response.summary)", file: file, line: line)
        return (response, events ?? [])
    }

    /// Every stored event of `topics` that a caller with `headers` may see, page by page.
    func storedEvents(_ node: Node, topics: String, headers: [(String, String)] = [],
                      file: StaticString = #filePath, line: UInt = #line) throws -> [[String: Any]] {
        var all: [[String: Any]] = []
        var cursor: UInt64 = 0
        while true {
            let (response, page) = try poll(node, "since=\(cursor)&topics=\(PubsubWire.encode(topics))&limit=1000",
                                            headers: headers, file: file, line: line)
            XCTAssertEqual(response.status, 200, response.summary, file: file, line: line)
            guard let last = page.last?.offset else { return all }
            all += page
            cursor = last
        }
    }

    // MARK: Admin

    /// An endpoint called through the admin socket (protocol `admin`): its JSON answer.
    func adminCall(_ node: Node, _ endpoint: String, _ body: [String: Any] = [:]) throws -> [String: Any] {
        let text = String(decoding: try JSONSerialization.data(withJSONObject: body), as: UTF8.self)
        let result = try node.process.adminResult("call", ["endpoint": endpoint, "body": text])
        let answer = result["body"] as? String ?? ""
        guard let object = (try? JSONSerialization.jsonObject(with: Data(answer.utf8))) as? [String: Any] else {
            throw SetupError("\(endpoint) through the admin socket answered no JSON object: \(result)")
        }
        return object
    }

    func stats(_ node: Node) throws -> [String: Any] { try adminCall(node, "pubsub.stats") }

    /// The `probe.audit` entry of `pubsub.stats`.
    func auditConsumer(_ node: Node) throws -> [String: Any]? {
        (try stats(node)["consumers"] as? [[String: Any]] ?? []).first { $0["name"] as? String == "probe.audit" }
    }

    // MARK: The probe's log

    struct AuditLine: CustomStringConvertible {
        var run: String
        var offset: UInt64
        var attempt: Int
        var description: String { "\(run):\(offset)#\(attempt)" }
    }

    struct OrdersLine {
        var run: String
        var offset: UInt64
        var tenant: String?
        var user: String?
        var publisher: String
    }

    /// The complete lines of the probe's log, split in fields.
    func probeLines() throws -> [[String]] {
        guard let text = try? String(contentsOfFile: try probeLogPath, encoding: .utf8) else { return [] }
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        lines.removeLast() // after the last newline: empty, or a line being written
        return lines.map { $0.split(separator: " ").map(String.init) }
    }

    func auditLines() throws -> [AuditLine] {
        try probeLines().compactMap { fields in
            guard fields.count == 4, fields[0] == "audit", let offset = UInt64(fields[2]), let attempt = Int(fields[3]) else { return nil }
            return AuditLine(run: fields[1], offset: offset, attempt: attempt)
        }
    }

    func ordersLines() throws -> [OrdersLine] {
        try probeLines().compactMap { fields in
            guard fields.count == 6, fields[0] == "orders", let offset = UInt64(fields[2]) else { return nil }
            return OrdersLine(run: fields[1], offset: offset, tenant: fields[3] == "-" ? nil : fields[3],
                              user: fields[4] == "-" ? nil : fields[4], publisher: fields[5])
        }
    }

    /// Waits until every offset of `offsets` has an audit line; returns the lines.
    @discardableResult
    func waitForAudit(of offsets: [UInt64], timeout: TimeInterval = 20,
                      file: StaticString = #filePath, line: UInt = #line) throws -> [AuditLine] {
        var lines: [AuditLine] = []
        let delivered = try waitUntil(timeout: timeout) {
            lines = try auditLines()
            return Set(offsets).isSubset(of: Set(lines.map(\.offset)))
        }
        XCTAssertTrue(delivered, "offsets never delivered to probe.audit: \(Set(offsets).subtracting(lines.map(\.offset)).sorted()); lines: \(lines)",
                      file: file, line: line)
        return lines
    }
}

// MARK: - Wire helpers

enum PubsubWire {
    static func publishBody(_ topic: String, _ payload: Any, context: [String: Any]? = nil) -> [UInt8] {
        var body: [String: Any] = ["topic": topic, "payload": payload]
        if let context { body["context"] = context }
        return Array((try? JSONSerialization.data(withJSONObject: body, options: [.fragmentsAllowed])) ?? Data())
    }

    static func offset(_ response: HTTPResponse) -> UInt64? { (response.json?["offset"] as? NSNumber)?.uint64Value }

    /// A query value: `#` and the like percent-encoded (`,` and `*` kept).
    static func encode(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~,*")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }

    static func object(_ bytes: [UInt8]) -> [String: Any]? {
        (try? JSONSerialization.jsonObject(with: Data(bytes))) as? [String: Any]
    }
}

extension Dictionary where Key == String, Value == Any {
    /// `offset` of an event object.
    var offset: UInt64? { (self["offset"] as? NSNumber)?.uint64Value }
    var context: [String: Any] { self["context"] as? [String: Any] ?? [:] }
}

/// Publishes from background threads over keep-alive HTTP connections
/// (`POST /events`) and records the offset of every acknowledged publish.
final class BackgroundPublisher: @unchecked Sendable {
    private let lock = NSLock()
    private var acknowledged: [UInt64] = []
    private var refusals: [String] = []
    private var stopping = false
    private let group = DispatchGroup()

    /// `threads` threads publish `perThread` events each on `topic` (forever with nil, until `stop`).
    init(port: Int, topic: String, threads: Int, perThread: Int?, payload: @escaping @Sendable (Int, Int) -> Any = { thread, n in ["t": thread, "n": n] }) {
        for index in 0..<threads {
            group.enter()
            let thread = Thread { [self] in
                defer { group.leave() }
                var connection: HTTPConnection?
                var n = 0
                while perThread.map({ n < $0 }) ?? true, !lock.withLock({ stopping }) {
                    do {
                        if connection == nil { connection = try HTTPConnection(port: port, timeout: 15) }
                        let response = try connection!.request("POST", "/events", headers: [("Content-Type", "application/json")],
                                                               body: PubsubWire.publishBody(topic, payload(index, n)))
                        if response.status == 200, let offset = PubsubWire.offset(response) {
                            lock.withLock { acknowledged.append(offset) }
                        } else {
                            lock.withLock { refusals.append(response.summary) }
                        }
                    } catch {
                        lock.withLock { refusals.append("\(error)") }
                        connection?.close()
                        connection = nil
                        if perThread == nil { return } // the kernel is gone
                    }
                    n += 1
                }
                connection?.close()
            }
            thread.name = "publisher-\(index)"
            thread.start()
        }
    }

    var acknowledgedCount: Int { lock.withLock { acknowledged.count } }

    /// Waits for the threads (asking them to stop first with `stop`); the acknowledged offsets and the refusals.
    func finish(stop: Bool = false, timeout: TimeInterval = 60) -> (offsets: [UInt64], refusals: [String], finished: Bool) {
        if stop { lock.withLock { stopping = true } }
        let finished = group.wait(timeout: .now() + timeout) == .success
        return lock.withLock { (acknowledged, refusals, finished) }
    }
}

// MARK: - Subscriptions, whatever the protocol

/// The events of one subscription as a test reads them.
protocol EventFeed: AnyObject {
    /// The next event object; throws when the subscription ends or nothing arrives in time.
    func nextEvent() throws -> [String: Any]
    /// Every byte received so far, as text.
    var received: String { get }
    func close()
}

extension EventFeed {
    /// Reads `count` events.
    func events(_ count: Int) throws -> [[String: Any]] { try (0..<count).map { _ in try nextEvent() } }

    /// Reads events up to and including the one at `offset` (or past it).
    func events(through offset: UInt64) throws -> [[String: Any]] {
        var events: [[String: Any]] = []
        while true {
            let event = try nextEvent()
            events.append(event)
            if (event.offset ?? 0) >= offset { return events }
        }
    }
}

/// A subscription ended with this message (`error`, `end`, `unsubscribed`).
struct SubscriptionEnded: Error, CustomStringConvertible, @unchecked Sendable {
    var message: [String: Any]
    var description: String { "the subscription ended: \(message)" }
}

/// A WS or TCP client whose messages can be read as raw bytes.
protocol RawEnvelopeClient: EnvelopeTestClient {
    /// The next message's bytes; nil when the server closed.
    func readRaw() throws -> [UInt8]?
}

extension WSTestClient: RawEnvelopeClient {
    func readRaw() throws -> [UInt8]? {
        while let frame = try readFrame() {
            if frame.opcode == Self.close { return nil }
            if frame.opcode == Self.text { return frame.payload }
        }
        return nil
    }
}

extension TCPTestClient: RawEnvelopeClient {
    func readRaw() throws -> [UInt8]? { try readFrame() }
}

/// An envelope `subscribe` over WS or TCP.
final class EnvelopeFeed: EventFeed {
    let client: RawEnvelopeClient
    let id: String
    /// The first message (`subscribed`).
    private(set) var subscribed: [String: Any] = [:]
    private(set) var received = ""
    /// `dropped` of each `gap` message.
    private(set) var gaps: [Int] = []

    static func message(id: String, patterns: [Any], since: Any? = nil, overflow: String? = nil,
                        meta: [String: String] = [:]) -> [String: Any] {
        var message: [String: Any] = ["id": id, "type": "subscribe", "patterns": patterns]
        if let since { message["since"] = since }
        if let overflow { message["overflow"] = overflow }
        if !meta.isEmpty { message["meta"] = meta }
        return message
    }

    /// Subscribes and reads the `subscribed` message.
    init(_ client: RawEnvelopeClient, id: String = "s", patterns: [String], since: Any? = nil, overflow: String? = nil,
         meta: [String: String] = [:]) throws {
        self.client = client
        self.id = id
        try client.send(Self.message(id: id, patterns: patterns, since: since, overflow: overflow, meta: meta))
        let first = try nextMessage()
        guard first["type"] as? String == "subscribed" else { throw SubscriptionEnded(message: first) }
        subscribed = first
    }

    /// The next message of the connection, as sent.
    func nextMessage() throws -> [String: Any] {
        guard let raw = try client.readRaw() else { throw SetupError("the server closed the connection") }
        received += String(decoding: raw, as: UTF8.self) + "\n"
        guard let object = PubsubWire.object(raw) else { throw SetupError("not a JSON object: \(String(decoding: raw, as: UTF8.self))") }
        return object
    }

    private var batch: [[String: Any]] = []

    /// The next event (of an `event` message, or of an `events` batch
    /// `{"type":"events","count":N,"events":[…]}`), or nil after a `gap` message.
    func nextEventOrGap() throws -> [String: Any]? {
        if !batch.isEmpty { return batch.removeFirst() }
        let message = try nextMessage()
        switch message["type"] as? String {
        case "event": return message
        case "events":
            let events = message["events"] as? [[String: Any]] ?? []
            guard !events.isEmpty, events.count == (message["count"] as? NSNumber)?.intValue else {
                throw SetupError("a batch whose count is not its number of events: \(message)")
            }
            batch = events
            return batch.removeFirst()
        case "gap":
            gaps.append((message["dropped"] as? NSNumber)?.intValue ?? -1)
            return nil
        default: throw SubscriptionEnded(message: message)
        }
    }

    func nextEvent() throws -> [String: Any] {
        while true {
            if let event = try nextEventOrGap() { return event }
        }
    }

    /// Unsubscribes (without waiting for the answer), then closes the connection.
    func close() {
        try? client.send(["type": "unsubscribe", "id": id])
        client.close()
    }

    /// Closes the connection as it is: the subscription is not told.
    func drop() { client.close() }
}

/// `GET /events/stream` (Server-Sent Events).
final class SSEFeed: EventFeed {
    struct Message {
        var id: String?
        var event: String?
        var data: String
    }

    let connection: HTTPConnection
    let head: HTTPResponse
    private(set) var subscribed: [String: Any] = [:]
    private(set) var received = ""
    /// The `id:` of the last event read.
    private(set) var lastEventID: String?
    private var pending: [UInt8] = []

    /// Opens the stream and reads its `subscribed` message.
    init(port: Int, topics: String, since: String? = nil, lastEventID: String? = nil, headers: [(String, String)] = []) throws {
        connection = try HTTPConnection(port: port)
        var path = "/events/stream?topics=" + PubsubWire.encode(topics)
        if let since { path += "&since=" + PubsubWire.encode(since) }
        var all = [("Accept", "text/event-stream")] + headers
        if let lastEventID { all.append(("Last-Event-ID", lastEventID)) }
        try connection.sendRequest("GET", path, headers: all)
        head = try connection.readStreamHead()
        guard head.status == 200 else { throw SetupError("GET \(path) answered \(head.status)") }
        let first = try nextMessage()
        guard first.event == "subscribed", let object = PubsubWire.object(Array(first.data.utf8)) else {
            throw SetupError("the stream did not start with `subscribed`: \(first)")
        }
        subscribed = object
    }

    func nextMessage() throws -> Message {
        while true {
            if let range = pending.firstRange(of: [0x0A, 0x0A]) {
                let block = String(decoding: pending[..<range.lowerBound], as: UTF8.self)
                pending.removeSubrange(..<range.upperBound)
                var message = Message(data: "")
                var data: [String] = []
                for line in block.split(separator: "\n", omittingEmptySubsequences: false) {
                    if line.hasPrefix("id: ") { message.id = String(line.dropFirst(4)) }
                    else if line.hasPrefix("event: ") { message.event = String(line.dropFirst(7)) }
                    else if line.hasPrefix("data: ") { data.append(String(line.dropFirst(6))) }
                }
                message.data = data.joined(separator: "\n")
                return message
            }
            guard let chunk = try connection.readChunk() else { throw SetupError("the event stream ended") }
            pending += chunk
            received += String(decoding: chunk, as: UTF8.self)
        }
    }

    func nextEvent() throws -> [String: Any] {
        while true {
            let message = try nextMessage()
            guard message.event == "event" else {
                if message.event == "gap" { continue }
                throw SetupError("unexpected message on the event stream: \(message)")
            }
            guard let object = PubsubWire.object(Array(message.data.utf8)) else { throw SetupError("event data is no JSON object: \(message)") }
            guard message.id == object.offset.map(String.init) else { throw SetupError("the SSE id is not the event's offset: \(message)") }
            lastEventID = message.id
            return object
        }
    }

    func close() { connection.close() }
}

/// `GET /events?since=<last offset>&wait=2s` in a loop, each on a new connection.
final class PollFeed: EventFeed {
    let port: Int
    let topics: String
    let headers: [(String, String)]
    let limit: Int
    private(set) var cursor: UInt64
    private(set) var received = ""
    private(set) var polls = 0
    private var buffer: [[String: Any]] = []

    init(port: Int, topics: String, since: UInt64, limit: Int = 1000, headers: [(String, String)] = []) {
        self.port = port
        self.topics = topics
        self.cursor = since
        self.limit = limit
        self.headers = headers
    }

    /// One poll; its events are queued for `nextEvent`.
    func pollOnce(wait: String = "2s") throws {
        let path = "/events?since=\(cursor)&topics=\(PubsubWire.encode(topics))&limit=\(limit)&wait=\(wait)"
        let response = try HTTP.request(port: port, "GET", path, headers: headers, timeout: 15)
        polls += 1
        received += response.text + "\n"
        guard response.status == 200 else { throw SetupError("GET \(path): \(response.summary)") }
        guard let events = (try? JSONSerialization.jsonObject(with: Data(response.body))) as? [[String: Any]] else {
            throw SetupError("GET \(path) is no array of objects: \(response.summary)")
        }
        buffer += events
        if let last = events.last?.offset { cursor = last }
    }

    func nextEvent() throws -> [String: Any] {
        let deadline = Date().addingTimeInterval(15)
        while buffer.isEmpty {
            guard Date() < deadline else { throw SetupError("no event within 15 s of polling after offset \(cursor)") }
            try pollOnce()
        }
        return buffer.removeFirst()
    }

    func close() {}
}
