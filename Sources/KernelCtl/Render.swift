import Foundation

/// Human-readable renderings of the admin operations' results
/// (field names as in Protocols/admin-protocol.md).
enum Render {
    static func status(_ result: JSONObject) -> String {
        var lines = KeyValueList()
        lines.append("pid", Output.text(result["pid"]))
        if let abi = result["abi"] as? JSONObject {
            lines.append("abi", "\(Output.text(abi["major"])).\(Output.text(abi["minor"]))")
        }
        lines.append("uptime", Output.duration(milliseconds: result["uptime_ms"]))
        lines.append("plugins dir", Output.text(result["plugins_dir"]))
        lines.append("data dir", Output.text(result["data_dir"]))
        lines.append("socket", Output.text(result["socket"]))
        lines.append("plugins", Output.text(result["plugins"]))
        lines.append("endpoints", Output.text(result["endpoints"]))
        lines.append("in flight", Output.text(result["in_flight"]))
        let listeners = objects(result["listeners"]).map {
            "\(Output.address(host: $0["host"], port: $0["port"])) (\(Output.text($0["plugin"])))"
        }
        lines.append("listeners", listeners.isEmpty ? "-" : listeners.joined(separator: "\n"))
        let transports = objects(result["transports"]).map {
            "\(Output.text($0["name"])) (\(Output.text($0["plugin"])))"
        }
        lines.append("transports", transports.isEmpty ? "-" : transports.joined(separator: "\n"))
        appendExtras(result, to: &lines, known: [
            "pid", "abi", "uptime_ms", "plugins_dir", "data_dir", "socket", "plugins", "endpoints",
            "in_flight", "listeners", "transports",
        ])
        return lines.render()
    }

    static func list(_ result: JSONObject) -> String {
        var plugins = Table("NAME", "VERSION", "STATE", "GEN", "ENDPOINTS", "IN-FLIGHT", "PATH")
        for plugin in objects(result["plugins"]) {
            plugins.append(["name", "version", "state", "generation", "endpoints", "in_flight", "path"]
                .map { Output.text(plugin[$0]) })
        }
        var text = plugins.render()
        let rejected = objects(result["rejected"])
        if !rejected.isEmpty {
            var files = Table("PATH", "REASON")
            for file in rejected { files.append([Output.text(file["path"]), Output.text(file["reason"])]) }
            text += "\n\nrejected files:\n" + files.render(indent: "  ")
        }
        let quarantined = objects(result["quarantined"])
        if !quarantined.isEmpty {
            var table = Table("NAME", "CRASHES", "LAST", "WHERE", "PATH")
            for entry in quarantined {
                table.append(["name", "crashes", "last_signal", "last_location", "path"].map { Output.text(entry[$0]) })
            }
            text += "\n\nquarantined (kernelctl release NAME to load again):\n" + table.render(indent: "  ")
        }
        return text
    }

    static func release(_ result: JSONObject) -> String {
        var text = "released \(Output.text(result["released"]))"
        if let loaded = result["loaded"] as? JSONObject { text += "; loaded generation \(Output.text(loaded["generation"]))" }
        if let reason = result["rejected"] { text += "; not loaded: \(Output.text(reason))" }
        return text
    }

    static func info(_ result: JSONObject) -> String {
        var lines = KeyValueList()
        for (key, label) in [("name", "name"), ("version", "version"), ("state", "state"),
                             ("generation", "generation"), ("description", "description"),
                             ("path", "path"), ("image", "image")] {
            lines.append(label, Output.text(result[key]))
        }
        lines.append("loaded at", Output.timestamp(milliseconds: result["loaded_at_ms"]))
        for (key, label) in [("depends_on", "depends on"), ("dependents", "dependents"),
                             ("flags", "flags"), ("transports", "transports"), ("in_flight", "in flight")] {
            lines.append(label, Output.text(result[key]))
        }
        appendExtras(result, to: &lines, known: [
            "name", "version", "state", "generation", "description", "path", "image", "loaded_at_ms",
            "depends_on", "dependents", "flags", "transports", "in_flight", "endpoints", "routes",
            "middleware", "jobs", "schedules", "event_handlers", "services", "metrics",
        ])
        var sections = [lines.render()]
        sections.append(section("endpoints", objects(result["endpoints"]),
                                Table("NAME", "KIND", "DESCRIPTION"), ["name", "kind", "description"]))
        sections.append(section("routes", objects(result["routes"]),
                                Table("METHOD", "PATH", "ENDPOINT"), ["method", "path", "endpoint"]))
        sections.append(section("middleware", objects(result["middleware"]),
                                Table("NAME", "ORDER", "ENDPOINTS"), ["name", "order", "endpoints"]))
        sections.append(section("jobs", result["jobs"]))
        sections.append(section("schedules", objects(result["schedules"]),
                                Table("NAME", "SPEC", "TZ", "JOB"), ["name", "spec", "time_zone", "job"]))
        sections.append(section("event handlers", result["event_handlers"]))
        var services = Table("NAME", "VERSION")
        for service in objects(result["services"]) {
            services.append([Output.text(service["name"]),
                             "\(Output.text(service["major"])).\(Output.text(service["minor"]))"])
        }
        sections.append(services.rows.isEmpty ? "services: none" : "services:\n" + services.render(indent: "  "))
        var metrics = KeyValueList()
        for (key, value) in (result["metrics"] as? JSONObject ?? [:]).sorted(by: { $0.key < $1.key }) {
            metrics.append(key, Output.text(value))
        }
        sections.append(metrics.pairs.isEmpty ? "metrics: none" : "metrics:\n" + metrics.render(indent: "  "))
        return sections.joined(separator: "\n\n")
    }

    static func endpoints(_ result: JSONObject) -> String {
        var table = Table("NAME", "KIND", "PLUGIN", "ROUTES")
        for endpoint in objects(result["endpoints"]) {
            let routes = objects(endpoint["routes"])
                .map { "\(Output.text($0["method"])) \(Output.text($0["path"]))" }
            table.append([Output.text(endpoint["name"]), Output.text(endpoint["kind"]),
                          Output.text(endpoint["plugin"]), routes.isEmpty ? "-" : routes.joined(separator: ", ")])
        }
        return table.render()
    }

    /// The answer to load, unload and reload: `loaded hello 1.0.0 (generation 2)`.
    static func change(_ verb: String, _ result: JSONObject) -> String {
        var text = "\(verb) \(Output.text(result["name"]))"
        if let version = result["version"] { text += " \(Output.text(version))" }
        if let generation = result["generation"] { text += " (generation \(Output.text(generation)))" }
        return text
    }

    /// Fields a newer kernel added are still shown, `some_field` as `some field`.
    private static func appendExtras(_ result: JSONObject, to lines: inout KeyValueList, known: Set<String>) {
        for key in result.keys.sorted() where !known.contains(key) {
            lines.append(key.replacingOccurrences(of: "_", with: " "), Output.text(result[key]))
        }
    }

    private static func objects(_ value: Any?) -> [JSONObject] {
        (value as? [Any] ?? []).compactMap { $0 as? JSONObject }
    }

    /// A titled table of `rows`, or `title: none`.
    private static func section(_ title: String, _ rows: [JSONObject], _ table: Table, _ keys: [String]) -> String {
        guard !rows.isEmpty else { return "\(title): none" }
        var table = table
        for row in rows { table.append(keys.map { Output.text(row[$0]) }) }
        return "\(title):\n" + table.render(indent: "  ")
    }

    /// A titled list of names, one per line, or `title: none`.
    private static func section(_ title: String, _ names: Any?) -> String {
        let names = (names as? [Any] ?? []).map { Output.text($0) }
        guard !names.isEmpty else { return "\(title): none" }
        return "\(title):\n" + names.map { "  " + $0 }.joined(separator: "\n")
    }
}
