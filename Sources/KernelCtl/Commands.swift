import ArgumentParser
import Foundation

/// `kernelctl`: drives a running kernel over its admin socket
/// (Protocols/admin-protocol.md).
struct KernelCtl: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kernelctl",
        abstract: "Control a running microkernel over its admin socket.",
        subcommands: [
            Status.self, List.self, Info.self, Endpoints.self,
            Load.self, Unload.self, Reload.self, Release.self, Call.self,
            StorageStatus.self, KV.self, Log.self,
            Jobs.self, Queues.self, Schedules.self,
            Events.self, Topics.self,
            Keygen.self, Sign.self, Verify.self,
        ])

    @OptionGroup var options: GlobalOptions
}

extension KernelCtl {
    struct Status: AdminCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show the kernel's pid, uptime, directories, counts and listeners.")
        @OptionGroup var options: GlobalOptions
        @ParentCommand var parent: KernelCtl

        func execute(_ context: Context) throws(CtlError) {
            try context.emit(try context.request("status"), human: Render.status)
        }
    }

    struct List: AdminCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the loaded plugins and the plugin files the kernel refused.")
        @OptionGroup var options: GlobalOptions
        @ParentCommand var parent: KernelCtl

        func execute(_ context: Context) throws(CtlError) {
            try context.emit(try context.request("list"), human: Render.list)
        }
    }

    struct Info: AdminCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show one plugin: endpoints, routes, middleware, jobs, services, metrics.")
        @OptionGroup var options: GlobalOptions
        @ParentCommand var parent: KernelCtl
        @Argument(help: "Plugin name.") var name: String

        func execute(_ context: Context) throws(CtlError) {
            try context.emit(try context.request("info", ["name": name]), human: Render.info)
        }
    }

    struct Endpoints: AdminCommand {
        static let configuration = CommandConfiguration(
            abstract: "List every endpoint with its kind, plugin and routes.")
        @OptionGroup var options: GlobalOptions
        @ParentCommand var parent: KernelCtl

        func execute(_ context: Context) throws(CtlError) {
            try context.emit(try context.request("endpoints"), human: Render.endpoints)
        }
    }

    struct Load: AdminCommand {
        static let configuration = CommandConfiguration(
            abstract: "Load a plugin file (its dependencies must already be loaded).")
        @OptionGroup var options: GlobalOptions
        @ParentCommand var parent: KernelCtl
        @Argument(help: "Plugin shared object; a relative path is taken from the current directory.")
        var path: String

        func execute(_ context: Context) throws(CtlError) {
            // The kernel resolves paths against its own working directory, not ours.
            let result = try context.request("load", ["path": Output.absolutePath(path)])
            try context.emit(result) { Render.change("loaded", $0) }
        }
    }

    struct Unload: AdminCommand {
        static let configuration = CommandConfiguration(
            abstract: "Drain and unload a plugin.")
        @OptionGroup var options: GlobalOptions
        @ParentCommand var parent: KernelCtl
        @Argument(help: "Plugin name.") var name: String

        func execute(_ context: Context) throws(CtlError) {
            let result = try context.request("unload", ["name": name])
            try context.emit(result) { Render.change("unloaded", $0) }
        }
    }

    struct Release: AdminCommand {
        static let configuration = CommandConfiguration(
            abstract: "Lift a plugin's quarantine (it crashed the kernel too often) and load its file again.")
        @OptionGroup var options: GlobalOptions
        @ParentCommand var parent: KernelCtl
        @Argument(help: "Plugin name.") var name: String

        func execute(_ context: Context) throws(CtlError) {
            try context.emit(try context.request("release", ["name": name]), human: Render.release)
        }
    }

    struct Reload: AdminCommand {
        static let configuration = CommandConfiguration(
            abstract: "Load a plugin's file again (or another file) and switch to it without failing calls.")
        @OptionGroup var options: GlobalOptions
        @ParentCommand var parent: KernelCtl
        @Argument(help: "Plugin name.") var name: String
        @Option(help: ArgumentHelp("New shared object to load instead of the plugin's file.", valueName: "file"))
        var path: String?

        func execute(_ context: Context) throws(CtlError) {
            var args: JSONObject = ["name": name]
            if let path { args["path"] = Output.absolutePath(path) }
            let result = try context.request("reload", args)
            try context.emit(result) { Render.change("reloaded", $0) }
        }
    }

    struct Call: AdminCommand {
        static let configuration = CommandConfiguration(
            abstract: "Call an endpoint through the middleware chain and print the response body.")
        @OptionGroup var options: GlobalOptions
        @ParentCommand var parent: KernelCtl
        @Argument(help: "Endpoint name.") var endpoint: String
        @Argument(help: "Request body, sent as is (default: empty).") var body: String = ""
        @Option(help: ArgumentHelp("Call metadata, e.g. header.authorization='Bearer t'. Repeatable.",
                                   valueName: "key=value"))
        var meta: [String] = []
        @Option(help: ArgumentHelp("Content type of the body (kernel default: application/json).",
                                   valueName: "type"))
        var contentType: String?
        @Option(help: ArgumentHelp("Call over a transport instead of the admin socket: http, ws or tcp (streams: ws, tcp).",
                                   valueName: "protocol"))
        var via: Transport?
        @Option(help: ArgumentHelp("Host of the transport (with --via; default 127.0.0.1).", valueName: "host"))
        var host = "127.0.0.1"
        @Option(help: ArgumentHelp("Port of the transport (with --via; default: the kernel's listener from status, else 8080/8082/8081).",
                                   valueName: "port"))
        var port: Int?
        @Flag(help: "With --via ws|tcp: send each line of stdin as an item of a bidirectional stream, then end.")
        var items = false

        func validate() throws {
            for entry in meta where !entry.contains("=") || entry.hasPrefix("=") {
                throw ValidationError("--meta expects key=value, got '\(entry)'")
            }
        }

        func execute(_ context: Context) throws(CtlError) {
            if let via {
                return try CallVia(transport: via, host: host, port: port, endpoint: endpoint, body: body,
                                   meta: meta, sendsStdinItems: items).run(context)
            }
            var args: JSONObject = ["endpoint": endpoint, "body": body]
            if let contentType { args["content_type"] = contentType }
            if !meta.isEmpty {
                var values: [String: String] = [:]
                for entry in meta {
                    let parts = entry.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                    values[String(parts[0])] = String(parts[1])
                }
                args["meta"] = values
            }
            let result = try context.request("call", args)
            // Both modes keep the body byte for byte; --json shows the content type too.
            try context.emit(result) { $0["body"] as? String ?? "" }
        }
    }
}
