import Foundation
import Glibc

/// An error that stops a test's setup; its description says what to do.
struct SetupError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Where the build products and the repository are.
enum Products {
    /// The repository root: this file is <root>/Tests/IntegrationTests/Products.swift.
    static let repositoryRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    static var protocolsDirectory: String { repositoryRoot + "/Protocols" }

    /// The directory of the running test executable that holds `kernel`: the
    /// xctest file's own directory on Linux, or a bundle's parent when the
    /// executable sits inside a `.xctest` directory.
    static let directory: String? = {
        guard let resolved = realpath("/proc/self/exe", nil) else { return nil }
        defer { free(resolved) }
        var url = URL(fileURLWithPath: String(cString: resolved)).deletingLastPathComponent()
        while url.path != "/" {
            if FileManager.default.isExecutableFile(atPath: url.path + "/kernel") { return url.path }
            url.deleteLastPathComponent()
        }
        return nil
    }()

    /// The absolute path of product `name` (`kernel`, `kernelctl`, `libhttp.so`, `libhello.so`),
    /// or of a test fixture (`libstorageprobe.so`).
    static func path(_ name: String) throws -> String {
        if Fixtures.products.contains(name) { return try Fixtures.path(name) }
        guard let directory else {
            throw SetupError("build product '\(name)' not found: no directory above the test executable holds `kernel`; run `swift build` first")
        }
        let path = directory + "/" + name
        guard FileManager.default.fileExists(atPath: path) else {
            throw SetupError("build product '\(name)' not found in \(directory); run `swift build` first")
        }
        // A product older than one of its sources was not built from this
        // tree as it is (another checkout, or an edit since): testing it would
        // test something else.
        if let built = modificationTime(path), let (newest, source) = newestSource(of: name), built < newest {
            throw SetupError("build product '\(name)' is older than \(source): it was not built from this tree as it is; run `swift build` first")
        }
        return path
    }

    /// The folders each product is built from (besides packages). Not the
    /// headers of Protocols/: SwiftPM does not rebuild Swift code when a
    /// system library's header changes (a layout change there needs a clean
    /// build), so their dates say nothing about the products.
    private static func sourceFolders(of product: String) -> [String] {
        let sdk = ["Sources/KernelSDK"]
        let transport = sdk + ["Sources/KernelTransport"]
        let envelope = transport + ["Sources/EnvelopeTransport", "Sources/EnvelopeJSON"]
        switch product {
        case "kernel": return ["Sources/KernelCore", "Sources/KernelServer"]
        case "kernelctl": return ["Sources/KernelCtl", "Sources/KernelClient", "Sources/EnvelopeJSON"]
        case "libhttp.so": return transport + ["Plugins/http"]
        case "libws.so": return envelope + ["Plugins/ws"]
        case "libtcp.so": return envelope + ["Plugins/tcp"]
        case "libstorage.so": return sdk + ["Plugins/storage"]
        case "libscheduler.so": return sdk + ["Plugins/scheduler"]
        case "libhello.so": return sdk + ["Samples/hello-swift"]
        case "libusers.so": return sdk + ["Samples/users"]
        case "libobserve.so": return sdk + ["Sources/MiddlewareKit", "Plugins/observe"]
        case "libguard.so": return sdk + ["Sources/MiddlewareKit", "Sources/JSONSchema", "Plugins/guard"]
        case "libauth.so": return sdk + ["Sources/MiddlewareKit", "Plugins/auth"]
        case "libcache.so": return sdk + ["Sources/MiddlewareKit", "Plugins/cache"]
        default: return []
        }
    }

    /// The newest source file of a product and its modification time.
    private static func newestSource(of product: String) -> (Double, String)? {
        var newest: (Double, String)?
        for folder in sourceFolders(of: product) {
            let root = repositoryRoot + "/" + folder
            let files = FileManager.default.enumerator(atPath: root)?.compactMap { $0 as? String } ?? []
            for file in files where file.hasSuffix(".swift") {
                if let time = modificationTime(root + "/" + file), time > (newest?.0 ?? 0) { newest = (time, root + "/" + file) }
            }
        }
        return newest
    }

    private static func modificationTime(_ path: String) -> Double? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return Double(info.st_mtim.tv_sec) + Double(info.st_mtim.tv_nsec) / 1e9
    }
}

/// Test fixture plugins: a package of their own (Tests/Fixtures), built by
/// the tests from this tree, once per test process, next to the main build.
enum Fixtures {
    static let products: Set<String> = ["libstorageprobe.so", "libjobprobe.so", "libeventprobe.so", "libmwprobe.so"]

    static func path(_ name: String) throws -> String {
        let directory = try built.get()
        return directory + "/" + name
    }

    /// A clean `swift build` of the fixtures package: it compiles the SDK from
    /// this tree as it is now (an incremental build of a path dependency can
    /// miss a file added to it). The packages stay resolved between runs.
    private static let built: Result<String, SetupError> = {
        let root = Products.repositoryRoot
        let scratch = root + "/.build-fixtures"
        let package = ["--package-path", root + "/Tests/Fixtures", "--scratch-path", scratch]
        do {
            for arguments in [["swift", "package"] + package + ["clean"], ["swift", "build"] + package] {
                let result = try runProgram("/usr/bin/env", arguments, workDirectory: NSTemporaryDirectory(), timeout: 1_200)
                guard result.status == 0, !result.timedOut else {
                    return .failure(SetupError("\(arguments.joined(separator: " ")) failed (\(result.status)):\n\(result.stdout)\n\(result.stderr)"))
                }
            }
            return .success(scratch + "/debug")
        } catch {
            return .failure(SetupError("cannot build the test fixtures: \(error)"))
        }
    }()
}

/// A fresh short directory under /tmp, for one test.
func makeTemporaryDirectory(_ prefix: String = "kn") throws -> String {
    var template = Array("/tmp/\(prefix)-XXXXXX".utf8CString)
    let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
    guard made != nil else { throw SetupError("mkdtemp failed: \(String(cString: strerror(errno)))") }
    return String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

/// Polls `condition` every `interval` until it holds or `timeout` passes.
/// Returns whether it held.
@discardableResult
func waitUntil(timeout: TimeInterval, interval: TimeInterval = 0.05, _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while true {
        if try condition() { return true }
        if Date() >= deadline { return false }
        Thread.sleep(forTimeInterval: interval)
    }
}

/// Runs a program to completion (with a deadline) and captures its output.
struct ProgramResult {
    var status: Int32
    var stdout: String
    var stderr: String
    var timedOut: Bool
}

func runProgram(_ executable: String, _ arguments: [String], workDirectory: String, timeout: TimeInterval = 60) throws -> ProgramResult {
    let id = UUID().uuidString.prefix(8)
    let outPath = "\(workDirectory)/run-\(id).out"
    let errPath = "\(workDirectory)/run-\(id).err"
    _ = FileManager.default.createFile(atPath: outPath, contents: nil)
    _ = FileManager.default.createFile(atPath: errPath, contents: nil)
    defer {
        try? FileManager.default.removeItem(atPath: outPath)
        try? FileManager.default.removeItem(atPath: errPath)
    }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    process.standardInput = FileHandle.nullDevice
    // Closed here, not left to Process: it keeps them (and their descriptors) long after the run.
    let out = FileHandle(forWritingAtPath: outPath)
    let errors = FileHandle(forWritingAtPath: errPath)
    defer {
        try? out?.close()
        try? errors?.close()
    }
    process.standardOutput = out
    process.standardError = errors
    try process.run()
    let exited = waitUntil(timeout: timeout, interval: 0.01) { !process.isRunning }
    if !exited {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
    let stdout = (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? ""
    let stderr = (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? ""
    return ProgramResult(status: process.terminationStatus, stdout: stdout, stderr: stderr, timedOut: !exited)
}
