import KernelSDK

/// `GET /events?since=…&topics=…&limit=N&wait=30s`: a JSON array of the
/// stored events after `since` the caller may see; with `wait`, an empty
/// answer waits (long-poll) until one arrives or the wait ends.
enum Polling {
    static func answer(_ request: RequestContext, runtime: PubsubRuntime) async throws -> RawResponse {
        let query = request.queryParameters
        let subscription = try SubscriptionRequest(query: query)
        let patterns = try subscription.checkedPatterns()
        let limit = min(max(Int(query["limit"] ?? "") ?? 100, 1), runtime.settings.pollLimit)
        var wait: Int64 = 0
        if let text = query["wait"], !text.isEmpty {
            let seconds = Int64(text).map { $0.multipliedReportingOverflow(by: 1000) }.map { $0.overflow ? Int64.max : $0.partialValue }
            guard let milliseconds = Duration.milliseconds(spelled: text) ?? seconds, milliseconds >= 0 else {
                throw PluginError(.invalidArgument, "wait: a duration such as 30s")
            }
            wait = min(milliseconds, Int64(runtime.settings.maxWait.components.seconds * 1000))
        }
        let viewer = Viewer(request)
        var cursor: UInt64 = switch subscription.since {
        case nil: 0
        case .offset(let offset): offset
        case .time(let milliseconds): try await runtime.store.cursor(at: milliseconds)
        }
        let deadline = ContinuousClock.now + .milliseconds(wait)
        let signal = TaskSignal()
        let token = signal
        runtime.hub.addWaiter(token) { signal.fire() }
        defer { runtime.hub.removeWaiter(token) }
        while true {
            var found: [StoredEvent] = []
            // Pages until `limit` visible events or the end of the log.
            while found.count < limit {
                let page = try await runtime.store.read(after: cursor, limit: 1_000)
                for event in page where found.count < limit {
                    cursor = event.offset
                    if patterns.contains(where: { $0.matches(event.topic) }), runtime.authorizer.allows(event, to: viewer) {
                        found.append(event)
                    }
                }
                if page.count < 1_000 { break }
            }
            let remaining = deadline - ContinuousClock.now
            if !found.isEmpty || remaining <= .zero || Task.isCancelled {
                var body: [UInt8] = [UInt8(ascii: "[")]
                for (index, event) in found.enumerated() {
                    if index > 0 { body.append(UInt8(ascii: ",")) }
                    body.append(contentsOf: event.httpJSON)
                }
                body.append(UInt8(ascii: "]"))
                return RawResponse(body, contentType: "application/json")
            }
            // At most a second: events another kernel writes to the same database are found by reading again.
            await signal.wait(timeout: min(remaining, .seconds(1)))
        }
    }
}
