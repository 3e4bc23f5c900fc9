import Foundation

/// Human-readable renderings of the pubsub endpoints' answers (publish,
/// stats, topics). Times arrive as ISO-8601 text and are shown as they are.
enum EventsRender {
    /// The counters of `pubsub.stats` in this order; any a newer plugin adds follow.
    private static let counters = ["head", "oldest", "stored", "published", "delivered", "subscribers", "dropped",
                                   "disconnected"]

    /// The answer to `events publish`: `published orders.created at offset 42`.
    static func published(_ result: JSONObject, topic: String) -> String {
        "published \(topic) at offset \(Output.text(result["offset"]))"
    }

    static func stats(_ result: JSONObject) -> String {
        var lines = KeyValueList()
        for key in counters { lines.append(key, Output.text(result[key])) }
        for key in result.keys.sorted() where !counters.contains(key) && key != "consumers" {
            lines.append(key, Output.text(result[key]))
        }
        let consumers = objects(result["consumers"])
        guard !consumers.isEmpty else { return lines.render() }
        var table = Table("NAME", "OWNER", "PATTERN", "CURSOR", "LAG", "DEAD", "STATE")
        for consumer in consumers {
            table.append(["name", "owner", "pattern", "cursor", "lag", "dead", "state"].map { Output.text(consumer[$0]) })
        }
        return lines.render() + "\n\nconsumers:\n" + table.render(indent: "  ")
    }

    static func topics(_ result: JSONObject) -> String {
        let topics = objects(result["topics"])
        guard !topics.isEmpty else { return "no topics" }
        var table = Table("TOPIC", "EVENTS", "FIRST", "LAST", "LAST-AT")
        for topic in topics {
            table.append(["topic", "events", "firstOffset", "lastOffset", "lastAt"].map { Output.text(topic[$0]) })
        }
        return table.render()
    }

    private static func objects(_ value: Any?) -> [JSONObject] {
        (value as? [Any] ?? []).compactMap { $0 as? JSONObject }
    }
}
