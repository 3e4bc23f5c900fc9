import Foundation
import KernelSDK

/// The client-facing endpoints (Protocols/pubsub.md): `pubsub.subscribe`
/// (envelope `subscribe`), `pubsub.stream` (`GET /events/stream`),
/// `pubsub.events` (`GET /events`) and `pubsub.publish` (`POST /events`).
enum Endpoints {
    static func register(with kernel: PluginContext, runtime: PubsubRuntime) {
        kernel.stream("pubsub.subscribe", description: "Stored events after `since`, then live ones (envelope subscribe)") {
            (request: SubscriptionRequest, stream: ServerStream<Empty>) async throws in
            try await SubscriptionLoop(runtime: runtime, request: request, viewer: Viewer(stream.request)) { item in
                try await stream.send(json: item.json)
            }.run()
        }
        kernel.stream("pubsub.stream", description: "Server-Sent Events: GET /events/stream?topics=…, resumed with Last-Event-ID") {
            (_: Empty, stream: ServerStream<Empty>) async throws in
            let http = stream.request
            var request = try SubscriptionRequest(query: http.queryParameters)
            if let last = http.meta("header.last-event-id"), let offset = UInt64(last) { request.since = .offset(offset) }
            http.setResponseMeta("stream.raw", "1")
            http.setResponseMeta("header.content-type", "text/event-stream")
            http.setResponseMeta("header.cache-control", "no-cache")
            try await SubscriptionLoop(runtime: runtime, request: request, viewer: Viewer(http)) { item in
                try await stream.send(json: item.serverSentEvent)
            }.run()
        }
        kernel.endpoint("pubsub.events", description: "Stored events after `since` (GET /events; wait=30s long-polls)") {
            (_: Empty, request: RequestContext) async throws -> RawResponse in
            try await Polling.answer(request, runtime: runtime)
        }
        kernel.endpoint("pubsub.publish", description: "Publishes an event (POST /events)") {
            (_: Empty, request: RequestContext) async throws -> RawResponse in
            try await publish(request, kernel: kernel)
        }
        if runtime.settings.httpRoutes {
            kernel.route(.get, "/events", to: "pubsub.events")
            kernel.route(.post, "/events", to: "pubsub.publish")
            kernel.route(.get, "/events/stream", to: "pubsub.stream")
        }
    }

    /// A remote publish, `{"topic":…,"payload":…,"context":{…}}`: its
    /// context is the caller's `auth.*`; an explicit user, tenant or
    /// session is taken only from an operator or a kernel without
    /// authentication (no `auth.*` on the call).
    private static func publish(_ request: RequestContext, kernel: PluginContext) async throws -> RawResponse {
        guard let body = try? JSONSerialization.jsonObject(with: Data(request.body)) as? [String: Any],
              let topic = body["topic"] as? String
        else { throw PluginError(.invalidArgument, "the body must be a JSON object with a topic") }
        var context = EventContext(user: request.meta("auth.subject"), tenant: request.meta("auth.tenant"),
                                   session: request.meta("auth.session"),
                                   requestID: request.meta("request.id"))
        if let explicit = body["context"] as? [String: Any] {
            let trusted = request.protocolName == "admin" || (context.user == nil && context.tenant == nil)
            if trusted {
                context.user = explicit["user"] as? String ?? context.user
                context.tenant = explicit["tenant"] as? String ?? context.tenant
                context.session = explicit["session"] as? String ?? context.session
            }
            context.requestID = explicit["requestId"] as? String ?? context.requestID
            context.headers = explicit["headers"] as? [String: String] ?? [:]
        }
        let payload = try JSONSerialization.data(withJSONObject: body["payload"] ?? NSNull(),
                                                 options: [.fragmentsAllowed, .withoutEscapingSlashes])
        let offset = try await kernel.publish(topic, json: Array(payload), context: context)
        let text = #"{"offset":\#(offset),"createdAt":"\#(WireJSON.timestamp(WireJSON.now()))"}"#
        return RawResponse(Array(text.utf8), contentType: "application/json")
    }
}

extension SubscriptionLoop.Item {
    /// The item of `pubsub.subscribe`: the envelope writes it with the subscription's id first.
    var json: [UInt8] {
        switch self {
        case .event(let event): return event.json
        case .subscribed(let gap, let oldest, let head):
            return Array(#"{"type":"subscribed","gap":\#(gap),"oldest":\#(oldest),"head":\#(head)}"#.utf8)
        case .events(let events):
            var bytes = Array(#"{"type":"events","count":\#(events.count),"events":["#.utf8)
            bytes.reserveCapacity(events.reduce(bytes.count + 2) { $0 + $1.json.count + 1 })
            for (index, event) in events.enumerated() {
                if index > 0 { bytes.append(UInt8(ascii: ",")) }
                bytes.append(contentsOf: event.json)
            }
            bytes.append(contentsOf: "]}".utf8)
            return bytes
        case .gap(let dropped):
            return Array(#"{"type":"gap","dropped":\#(dropped)}"#.utf8)
        }
    }

    var serverSentEvent: [UInt8] {
        switch self {
        case .event(let event): return event.serverSentEvent
        case .events(let events): return events.flatMap(\.serverSentEvent)
        case .subscribed: return Array("event: subscribed\ndata: ".utf8) + json + [0x0A, 0x0A]
        case .gap: return Array("event: gap\ndata: ".utf8) + json + [0x0A, 0x0A]
        }
    }
}
