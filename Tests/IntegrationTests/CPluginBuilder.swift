import Foundation

/// Compiles C plugins with the system C compiler against Protocols/kn_plugin.h:
/// `cc -shared -fPIC -I <repo>/Protocols -o <output> <source> [-D...]`.
enum CPluginBuilder {
    static var greeterSource: String { Products.repositoryRoot + "/Samples/hello-c/greeter.c" }

    /// Compiles the C file at `sourcePath` into the shared object `output`.
    static func build(sourcePath: String, output: String, defines: [String] = []) throws {
        let directory = URL(fileURLWithPath: output).deletingLastPathComponent().path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let arguments = ["cc", "-std=c99", "-shared", "-fPIC", "-I", Products.protocolsDirectory]
            + defines.map { "-D" + $0 } + ["-o", output, sourcePath]
        let result = try runProgram("/usr/bin/env", arguments, workDirectory: directory, timeout: 120)
        guard result.status == 0, !result.timedOut else {
            throw SetupError("cc failed (status \(result.status)) for \(sourcePath):\n\(result.stderr)\(result.stdout)")
        }
    }

    /// Compiles C source text into the shared object `output`.
    static func build(source: String, output: String, defines: [String] = []) throws {
        let sourcePath = output + ".c"
        try FileManager.default.createDirectory(atPath: URL(fileURLWithPath: output).deletingLastPathComponent().path,
                                                withIntermediateDirectories: true)
        try source.write(toFile: sourcePath, atomically: true, encoding: .utf8)
        try build(sourcePath: sourcePath, output: output, defines: defines)
    }

    /// Builds Samples/hello-c/greeter.c. `defines` like `GREETING="v2"`.
    static func buildGreeter(output: String, defines: [String] = []) throws {
        try build(sourcePath: greeterSource, output: output, defines: defines)
    }

    /// A string literal for a -D define: `quoted("v2")` is `"v2"`.
    static func quoted(_ text: String) -> String { "\"\(text)\"" }
}
