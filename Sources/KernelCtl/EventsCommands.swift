import ArgumentParser
import Foundation

// The pubsub plugin's operator view. `events publish`, `events stats` and
// `topics list` call its admin-only endpoints (`pubsub.*`) through the admin
// `call` operation; `events tail` subscribes like a client, over a transport.

extension KernelCtl {
    struct Events: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "events",
            abstract: "Publish events, follow them as they arrive, and show the pubsub plugin's counters.",
            subcommands: [EventsPublish.self, EventsTailCommand.self, EventsStats.self])
    }

    struct EventsPublish: AdminCommand {
        static let configuration = CommandConfiguration(
            commandName: "publish", abstract: "Publish an event with a JSON payload.")
        @OptionGroup var options: GlobalOptions
        @ParentCommand var parent: KernelCtl
        @Argument(help: "Topic, e.g. orders.created.") var topic: String
        @Argument(help: "Payload, as JSON text (any JSON value).") var payload: String
        @Option(help: ArgumentHelp("The event's context, as a JSON object, e.g. '{\"tenant\":\"acme\"}'.",
                                   valueName: "json"))
        var context: String?

        func validate() throws {
            guard parsedJSON(payload) != nil else {
                throw ValidationError("payload is not valid JSON: '\(payload)' (text needs quotes: '\"text\"')")
            }
            if let context, !(parsedJSON(context) is JSONObject) {
                throw ValidationError("--context is not a JSON object: '\(context)'")
            }
        }

        func execute(_ context: Context) throws(CtlError) {
            // validate() has checked both.
            var body: JSONObject = ["topic": topic, "payload": parsedJSON(payload) ?? NSNull()]
            if let text = self.context, let object = parsedJSON(text) { body["context"] = object }
            let result = try context.callPlugin("pubsub", "pubsub.publish", body)
            try context.emit(result) { EventsRender.published($0, topic: topic) }
        }
    }

    struct EventsTailCommand: AdminCommand {
        static let configuration = CommandConfiguration(
            commandName: "tail", abstract: "Print the events of matching topics as they are published, one per line.")
        @OptionGroup var options: GlobalOptions
        @ParentCommand var parent: KernelCtl
        @Argument(help: "Topic patterns: orders.created, orders.* (one segment), orders.# (the rest).")
        var patterns: [String]
        @Option(help: ArgumentHelp("Start after this offset, or at this RFC 3339 time (default: new events only).",
                                   valueName: "offset|time"))
        var since: String?
        @Option(help: ArgumentHelp("Transport to subscribe over.", valueName: "protocol"))
        var via: Transport = .ws
        @Option(help: ArgumentHelp("Host of the transport.", valueName: "host"))
        var host = "127.0.0.1"
        @Option(help: ArgumentHelp("Port of the transport (default: the kernel's listener from status, else 8082/8081/8080).",
                                   valueName: "port"))
        var port: Int?

        func execute(_ context: Context) throws(CtlError) {
            try EventsTail(patterns: patterns, since: since, transport: via, host: host, port: port).run(context)
        }
    }

    struct EventsStats: AdminCommand {
        static let configuration = CommandConfiguration(
            commandName: "stats", abstract: "Show the log's offsets, delivery counters and durable consumers.")
        @OptionGroup var options: GlobalOptions
        @ParentCommand var parent: KernelCtl

        func execute(_ context: Context) throws(CtlError) {
            try context.emit(try context.callPlugin("pubsub", "pubsub.stats", [:]), human: EventsRender.stats)
        }
    }

    struct Topics: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "topics", abstract: "List the topics the pubsub plugin keeps.", subcommands: [TopicsList.self])
    }

    struct TopicsList: AdminCommand {
        static let configuration = CommandConfiguration(
            commandName: "list", abstract: "List topics with their event counts and offsets.")
        @OptionGroup var options: GlobalOptions
        @ParentCommand var parent: KernelCtl

        func execute(_ context: Context) throws(CtlError) {
            try context.emit(try context.callPlugin("pubsub", "pubsub.topics", [:]), human: EventsRender.topics)
        }
    }
}

/// `text` parsed as any JSON value (a bare number or string too); nil when it is not JSON.
private func parsedJSON(_ text: String) -> Any? {
    try? JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])
}
