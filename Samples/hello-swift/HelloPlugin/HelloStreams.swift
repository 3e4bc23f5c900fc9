import KernelSDK
import Synchronization

/// The sample's streaming endpoints (served over ws and tcp):
///
///     kernelctl call hello.ticker '{"count":5}' --via ws     # five ticks, 200 ms apart
///     kernelctl call hello.chat '{"name":"ada"}' --via tcp --items   # one stdin line per item
///
/// and `hello.echo` (the payload back, for load tests) and `hello.streams`
/// (how many streams ran, completed, were cancelled: tests watch it).
func registerStreams(with kernel: PluginContext) {
    let stats = StreamStats()

    kernel.endpoint("hello.echo", description: "Answers the payload as is") { (_: Empty, request) in
        RawResponse(request.body.isEmpty ? Array("{}".utf8) : request.body, contentType: "application/json")
    }

    kernel.stream("hello.ticker", description: "Streams {count} ticks, {intervalMs} apart, each with {padding} bytes of filler") {
        (request: TickerRequest, stream: ServerStream<Tick>) async throws in
        let count = min(max(request.count ?? 5, 0), 100_000)
        let interval = Duration.milliseconds(max(request.intervalMs ?? 200, 0))
        let pad = request.padding.map { String(repeating: "x", count: min(max($0, 0), 65_536)) }
        try await stats.track {
            for n in 0..<count {
                if n > 0 && interval > .zero { try await Task.sleep(for: interval) }
                try await stream.send(Tick(n: n + 1, of: count, pad: pad))
                stats.itemSent()
            }
        }
    }

    kernel.bidiStream("hello.chat", description: "Echoes each {text} the client sends until it ends") {
        (request: ChatRequest, incoming: IncomingItems<ChatLine>, stream: ServerStream<ChatReply>) async throws in
        let name = request.name ?? "you"
        try await stats.track {
            var n = 0
            for try await line in incoming {
                n += 1
                try await stream.send(ChatReply(n: n, text: "\(name): \(line.text)"))
                stats.itemSent()
            }
        }
    }

    kernel.endpoint("hello.streams", description: "Streams started, completed and cancelled") { (_: Empty, _) in
        stats.snapshot
    }
}

/// Counts streams so a test (or a curious user) can see a cancellation reach the handler.
final class StreamStats: Sendable {
    private let started = Atomic<Int>(0)
    private let completed = Atomic<Int>(0)
    private let cancelled = Atomic<Int>(0)
    private let failed = Atomic<Int>(0)
    private let sent = Atomic<Int>(0)

    /// One more item accepted by the caller's transport (a stopped reader holds this count still).
    func itemSent() { sent.add(1, ordering: .relaxed) }

    func track(_ body: () async throws -> Void) async throws {
        started.add(1, ordering: .relaxed)
        do {
            try await body()
            completed.add(1, ordering: .relaxed)
        } catch {
            if (error as? PluginError)?.code == .cancelled || error is CancellationError || Task.isCancelled {
                cancelled.add(1, ordering: .relaxed)
            } else {
                failed.add(1, ordering: .relaxed)
            }
            throw error
        }
    }

    var snapshot: StreamCounts {
        let started = started.load(ordering: .relaxed)
        let completed = completed.load(ordering: .relaxed)
        let cancelled = cancelled.load(ordering: .relaxed)
        let failed = failed.load(ordering: .relaxed)
        return StreamCounts(started: started, completed: completed, cancelled: cancelled, failed: failed,
                            active: started - completed - cancelled - failed, sent: sent.load(ordering: .relaxed))
    }
}

struct TickerRequest: Codable, Sendable {
    var count: Int?
    var intervalMs: Int?
    var padding: Int?
}
struct Tick: Codable, Sendable {
    var n: Int
    var of: Int
    var pad: String?
}
struct ChatRequest: Codable, Sendable { var name: String? }
struct ChatLine: Codable, Sendable { var text: String }
struct ChatReply: Codable, Sendable {
    var n: Int
    var text: String
}
struct StreamCounts: Codable, Sendable {
    var started: Int
    var completed: Int
    var cancelled: Int
    var failed: Int
    var active: Int
    /// Items the transports accepted, over all streams.
    var sent: Int
}
