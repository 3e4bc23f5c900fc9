import ArgumentParser
import Foundation

/// Options accepted before the subcommand and after it: `kernelctl --json list`
/// and `kernelctl list --json` mean the same.
struct GlobalOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "Admin socket of the kernel (default: $KERNEL_SOCKET, else ./data/kernel.sock).",
        valueName: "path"))
    var socket: String?

    @Flag(help: "Print the result object as JSON.")
    var json = false
}

/// What a subcommand needs to talk to the kernel and print.
struct Context {
    let socketPath: String
    let json: Bool

    /// Merges the options given to the root command with the subcommand's own;
    /// the one written closer to the subcommand wins.
    init(root: GlobalOptions, local: GlobalOptions, environment: [String: String]) {
        if let path = local.socket ?? root.socket {
            socketPath = path
        } else if let path = environment["KERNEL_SOCKET"], !path.isEmpty {
            socketPath = path
        } else {
            socketPath = "./data/kernel.sock"
        }
        json = root.json || local.json
    }

    /// Opens a connection, sends one request and returns its result.
    func request(_ op: String, _ args: JSONObject = [:]) throws(CtlError) -> JSONObject {
        var client = try AdminClient(path: socketPath)
        return try client.request(op, args)
    }

    /// Prints `result` as JSON with `--json`, else the human rendering.
    func emit(_ result: JSONObject, human: (JSONObject) -> String) throws(CtlError) {
        if json {
            print(try Output.prettyJSON(result))
        } else {
            print(human(result))
        }
    }
}

/// A subcommand that sends one admin request. Conformers declare their own
/// `@OptionGroup` (so the options show in their help) and a `@ParentCommand`
/// (so options written before the subcommand name are not lost).
protocol AdminCommand: ParsableCommand {
    var options: GlobalOptions { get }
    var parent: KernelCtl { get }
    func execute(_ context: Context) throws(CtlError)
}

extension AdminCommand {
    func run() throws {
        let context = Context(
            root: parent.options, local: options, environment: ProcessInfo.processInfo.environment)
        do {
            try execute(context)
        } catch {
            // Exactly one line: a multi-line kernel message is folded.
            let line = error.description.split(whereSeparator: \.isNewline).joined(separator: " ")
            FileHandle.standardError.write(Data("kernelctl: \(line)\n".utf8))
            throw ExitCode.failure
        }
    }
}
