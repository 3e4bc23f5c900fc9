import ArgumentParser
import Foundation

// The storage plugin's operator view. Each command calls one of its
// admin-only endpoints (`storage.*`) through the admin `call` operation, so
// the kernel needs no storage-specific code (Protocols/storage-service.md).

extension KernelCtl {
    struct StorageStatus: AdminCommand {
        static let configuration = CommandConfiguration(
            commandName: "storage",
            abstract: "Show the storage backend, its size, keys per namespace and log streams.")
        @OptionGroup var options: GlobalOptions
        @ParentCommand var parent: KernelCtl

        func execute(_ context: Context) throws(CtlError) {
            try context.emit(try context.callPlugin("storage", "storage.status", [:]), human: StorageRender.status)
        }
    }

    struct KV: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "kv",
            abstract: "Read and repair keys of a storage namespace (a plugin's name, or shared.<name>).",
            subcommands: [KVGet.self, KVPut.self, KVDelete.self, KVScan.self])
    }

    struct KVGet: AdminCommand {
        static let configuration = CommandConfiguration(commandName: "get", abstract: "Print a key's value.")
        @OptionGroup var options: GlobalOptions
        @ParentCommand var parent: KernelCtl
        @Argument(help: "Namespace.") var namespace: String
        @Argument(help: "Key.") var key: String

        func execute(_ context: Context) throws(CtlError) {
            let entry = try context.callPlugin("storage", "storage.kv.get", ["namespace": namespace, "key": key])
            try context.emit(entry) { StorageRender.value($0["value"]) }
        }
    }

    struct KVPut: AdminCommand {
        static let configuration = CommandConfiguration(commandName: "put", abstract: "Write a key (UTF-8 value).")
        @OptionGroup var options: GlobalOptions
        @ParentCommand var parent: KernelCtl
        @Argument(help: "Namespace.") var namespace: String
        @Argument(help: "Key.") var key: String
        @Argument(help: "Value, as text.") var value: String
        @Option(help: ArgumentHelp("Expire the key after this many milliseconds.", valueName: "ms")) var ttlMs: UInt64?

        func execute(_ context: Context) throws(CtlError) {
            var body: JSONObject = ["namespace": namespace, "key": key, "value": value]
            if let ttlMs { body["ttl_ms"] = ttlMs }
            let entry = try context.callPlugin("storage", "storage.kv.put", body)
            try context.emit(entry) { "wrote \(Output.text($0["namespace"]))/\(Output.text($0["key"])) version \(Output.text($0["version"]))" }
        }
    }

    struct KVDelete: AdminCommand {
        static let configuration = CommandConfiguration(commandName: "delete", abstract: "Delete a key.")
        @OptionGroup var options: GlobalOptions
        @ParentCommand var parent: KernelCtl
        @Argument(help: "Namespace.") var namespace: String
        @Argument(help: "Key.") var key: String

        func execute(_ context: Context) throws(CtlError) {
            let result = try context.callPlugin("storage", "storage.kv.delete", ["namespace": namespace, "key": key])
            try context.emit(result) { result in
                (result["deleted"] as? Bool) == true ? "deleted \(namespace)/\(key)" : "no key \(namespace)/\(key)"
            }
        }
    }

    struct KVScan: AdminCommand {
        static let configuration = CommandConfiguration(commandName: "scan", abstract: "List keys by prefix, a page at a time.")
        @OptionGroup var options: GlobalOptions
        @ParentCommand var parent: KernelCtl
        @Argument(help: "Namespace.") var namespace: String
        @Argument(help: "Key prefix (default: all keys).") var prefix: String = ""
        @Option(help: ArgumentHelp("Start after this key (the previous page's next cursor).", valueName: "key")) var cursor: String?
        @Option(help: "Keys per page (1-1000).") var limit: Int = 100

        func execute(_ context: Context) throws(CtlError) {
            var body: JSONObject = ["namespace": namespace, "prefix": prefix, "limit": limit]
            if let cursor { body["cursor"] = cursor }
            try context.emit(try context.callPlugin("storage", "storage.kv.scan", body), human: StorageRender.page)
        }
    }

    struct Log: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "log", abstract: "Read storage log streams.", subcommands: [LogRead.self])
    }

    struct LogRead: AdminCommand {
        static let configuration = CommandConfiguration(
            commandName: "read", abstract: "Print records of a stream, NAMESPACE/STREAM, from an offset.")
        @OptionGroup var options: GlobalOptions
        @ParentCommand var parent: KernelCtl
        @Argument(help: "NAMESPACE/STREAM, e.g. users/audit.") var stream: String
        @Option(help: "First offset to read.") var from: UInt64 = 0
        @Option(help: "Records to read (1-1000).") var limit: Int = 100

        func validate() throws {
            guard stream.split(separator: "/", maxSplits: 1).count == 2 else {
                throw ValidationError("expected NAMESPACE/STREAM, got '\(stream)'")
            }
        }

        func execute(_ context: Context) throws(CtlError) {
            let parts = stream.split(separator: "/", maxSplits: 1).map(String.init)
            let body: JSONObject = ["namespace": parts[0], "stream": parts[1], "from": from, "limit": limit]
            try context.emit(try context.callPlugin("storage", "storage.log.read", body), human: StorageRender.batch)
        }
    }
}
