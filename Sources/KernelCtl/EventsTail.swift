import Foundation
import KernelClient

/// `kernelctl events tail PATTERN... [--since X] [--via ws|tcp|http]
/// [--host H] [--port P] [--json]`: follows the pubsub log like a client
/// does (KernelClient.subscribe, through the transport and the
/// middleware), one line per event as it arrives, until interrupted.
/// A lost connection is resumed after the last event printed, so the
/// output has no event twice; a gap in the log is said on stderr.
///
/// Lines: `<offset> <createdAt> <topic> <payload>`; with `--json` (the
/// context's) one event object per line,
/// `{"offset","id","topic","createdAt","publisher","payload","context"}`.
struct EventsTail {
    /// Topic patterns (`orders.*`, `audit.#`); at least one.
    var patterns: [String]
    /// An offset (the events after it) or an RFC 3339 time; nil: from now on.
    var since: String?
    var transport: Transport = .ws
    var host = "127.0.0.1"
    /// nil: the kernel's listener from `status`, else the transport's default port.
    var port: Int?

    /// Blocks until interrupted, or until the subscription fails or the server ends it.
    func run(_ context: Context) throws(CtlError) {
        guard !patterns.isEmpty else { throw .transport("events tail: give at least one topic pattern") }
        let tail = Tail(patterns: patterns, since: since.map(Self.start), json: context.json)
        try ClientTarget(transport: transport, host: host, port: port).run(context) { try await tail.follow($0) }
    }

    /// Digits are an offset; anything else a time, judged by the server.
    static func start(_ text: String) -> SubscriptionStart {
        if let offset = UInt64(text) { return .offset(offset) }
        return .time(text)
    }

    private struct Tail: Sendable {
        let patterns: [String]
        let since: SubscriptionStart?
        let json: Bool

        func follow(_ client: KernelClient) async throws {
            for try await item in client.subscribe(to: patterns, since: since) {
                switch item {
                case .event(let event):
                    print(json ? EventsTail.json(event) : EventsTail.line(event))
                    fflush(nil) // watched live: no block buffering into a pipe
                case .gap(let gap):
                    FileHandle.standardError.write(Data((EventsTail.describe(gap) + "\n").utf8))
                }
            }
        }
    }

    // MARK: Lines

    static func line(_ event: KernelEvent) -> String {
        "\(event.offset) \(event.createdAt) \(event.topic) \(event.payload.text)"
    }

    /// The event as one JSON object; payload and context as received.
    static func json(_ event: KernelEvent) -> String {
        func string(_ text: String) -> String {
            let data = try? JSONSerialization.data(withJSONObject: text, options: [.fragmentsAllowed, .withoutEscapingSlashes])
            return data.map { String(decoding: $0, as: UTF8.self) } ?? "\"\""
        }
        return #"{"offset":\#(event.offset),"id":\#(string(event.id)),"topic":\#(string(event.topic)),"#
            + #""createdAt":\#(string(event.createdAt)),"publisher":\#(string(event.publisher)),"#
            + #""payload":\#(event.payload.text),"context":\#(event.context.text)}"#
    }

    static func describe(_ gap: SubscriptionGap) -> String {
        var text = "gap: " + (gap.dropped.map { "\($0) events" } ?? "events") + " missed"
        if let oldest = gap.oldest { text += " (the log now starts at offset \(oldest))" }
        return text
    }
}
