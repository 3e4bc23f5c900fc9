import KernelSDK

/// `kernelctl events stats` and `topics list`, through the admin socket only.
enum OperatorEndpoints {
    static func register(with kernel: PluginContext, runtime: PubsubRuntime) {
        kernel.endpoint("pubsub.stats", description: "Counters, the log's bounds and the durable consumers (admin)") {
            (_: Empty, request: RequestContext) async throws -> RawResponse in
            try request.requireOperator()
            let bounds = try await runtime.store.bounds()
            let stored = try await runtime.store.sql.query("SELECT COUNT(*) AS n FROM events").rows.first?["n"].int ?? 0
            var out = "{"
            for (key, value) in runtime.hub.counters.snapshot.sorted(by: { $0.key < $1.key }) { out += "\"\(key)\":\(value)," }
            out += "\"head\":\(bounds?.head ?? 0),\"oldest\":\(bounds?.oldest ?? 0),\"stored\":\(stored),"
            out += "\"subscribers\":\(runtime.hub.subscriberCount),\"consumers\":["
            let consumers = runtime.consumers.snapshot.sorted { $0.definition.name < $1.definition.name }
            for (index, consumer) in consumers.enumerated() {
                let status = consumer.status
                let lag = (bounds?.head ?? 0) > status.cursor ? (bounds?.head ?? 0) - status.cursor : 0
                var entry: [UInt8] = []
                entry.append(contentsOf: "{\"name\":".utf8)
                WireJSON.string(consumer.definition.name, into: &entry)
                entry.append(contentsOf: ",\"owner\":".utf8)
                WireJSON.string(consumer.definition.owner, into: &entry)
                entry.append(contentsOf: ",\"pattern\":".utf8)
                WireJSON.string(consumer.definition.pattern.description, into: &entry)
                entry.append(contentsOf: ",\"cursor\":\(status.cursor),\"lag\":\(lag),\"dead\":\(status.dead),\"state\":\"\(status.state)\"}".utf8)
                out += (index > 0 ? "," : "") + String(decoding: entry, as: UTF8.self)
            }
            out += "]}"
            return RawResponse(Array(out.utf8), contentType: "application/json")
        }
        kernel.endpoint("pubsub.topics", description: "The stored topics with their counts and offsets (admin)") {
            (_: Empty, request: RequestContext) async throws -> RawResponse in
            try request.requireOperator()
            let rows = try await runtime.store.sql.query("""
                SELECT topic, COUNT(*) AS events, MIN(event_offset) AS first, MAX(event_offset) AS last, MAX(created_at) AS last_at
                FROM events GROUP BY topic ORDER BY topic
                """).rows
            var out: [UInt8] = Array("{\"topics\":[".utf8)
            for (index, row) in rows.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                out.append(contentsOf: "{\"topic\":".utf8)
                WireJSON.string(row["topic"].string ?? "", into: &out)
                out.append(contentsOf: ",\"events\":\(row["events"].int ?? 0),\"firstOffset\":\(row["first"].int ?? 0),\"lastOffset\":\(row["last"].int ?? 0),\"lastAt\":\"\(WireJSON.timestamp(row["last_at"].int ?? 0))\"}".utf8)
            }
            out.append(contentsOf: "]}".utf8)
            return RawResponse(out, contentType: "application/json")
        }
    }

}
