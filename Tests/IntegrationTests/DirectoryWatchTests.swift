import Foundation
import Glibc
import XCTest

/// The plugins directory never misses a file: files dropped while the kernel
/// starts are loaded exactly once, an inotify overflow is followed by a full
/// rescan, and a directory swapped by symlink (a deploy) is followed.
final class DirectoryWatchTests: IntegrationTestCase {
    /// A greeter plugin named `name`, built into `directory`.
    private func greeter(_ name: String, in directory: String, greeting: String = "hi") throws -> String {
        let output = directory + "/lib\(name).so"
        try CPluginBuilder.buildGreeter(output: output, defines: [
            "PLUGIN_NAME=" + CPluginBuilder.quoted(name), "GREETING=" + CPluginBuilder.quoted(greeting), "NO_ROUTE",
        ])
        return output
    }

    private func list(_ kernel: KernelProcess) throws -> [String: Any] {
        try AdminClient(path: kernel.socketPath, timeout: 5).result("list")
    }

    private func greeting(_ kernel: KernelProcess, _ name: String) -> String? {
        (try? HTTP.call(port: kernel.httpPort, "\(name).greet"))?.json?["greeting"] as? String
    }

    /// Copies `source` to `target` in two writes with a pause between them,
    /// as a slow copy does (the watcher must wait for the close).
    private static func slowCopy(_ source: String, to target: String) throws {
        let bytes = try Data(contentsOf: URL(fileURLWithPath: source))
        _ = FileManager.default.createFile(atPath: target, contents: nil)
        guard let handle = FileHandle(forWritingAtPath: target) else { throw SetupError("cannot write \(target)") }
        try handle.write(contentsOf: bytes.prefix(bytes.count / 2))
        usleep(20_000)
        try handle.write(contentsOf: bytes.dropFirst(bytes.count / 2))
        try handle.close()
    }

    func testFilesDroppedWhileTheKernelStartsAreLoadedExactlyOnce() throws {
        let kernel = try KernelProcess(plugins: ["libhttp.so"])
        let names = (1...6).map { "drop\($0)" }
        let built = try names.map { try greeter($0, in: kernel.buildDirectory) }
        let directory = kernel.pluginsDirectory
        let dropper = Thread {
            for (name, path) in zip(names, built) {
                try? Self.slowCopy(path, to: directory + "/lib\(name).so")
                usleep(15_000)
            }
        }
        dropper.start() // while the kernel starts: some before its scan, some during, some after
        try kernel.start(waitingFor: ["http"])
        defer {
            kernel.stop()
            kernel.removeDirectory()
        }
        let all = waitUntil(timeout: 20) { names.allSatisfy { (try? self.list(kernel))?.plugin(named: $0) != nil } }
        XCTAssertTrue(all, "not every dropped file was loaded: \(String(describing: try? list(kernel)))\n\(kernel.log())")
        // Quiet for longer than the watcher's debounce, so a late second load would have happened.
        _ = kernel.waitForLogLine(containing: ["never logged"], timeout: 1)
        for name in names {
            let loads = kernel.log().split(separator: "\n").filter { $0.contains("loaded plugin \(name) ") && !$0.contains("reloaded") }
            let reloads = kernel.log().split(separator: "\n").filter { $0.contains("reloaded plugin \(name) ") }
            XCTAssertEqual(loads.count, 1, "\(name) loaded \(loads.count) times")
            XCTAssertEqual(reloads.count, 0, "\(name) reloaded without a change")
            XCTAssertEqual(greeting(kernel, name), "hi", name)
        }
    }

    func testAnOverflowOfEventsIsFollowedByARescanThatReconciles() throws {
        let kernel = try startKernel(plugins: ["libhttp.so"])
        let staying = try greeter("staying", in: kernel.buildDirectory, greeting: "v1")
        let leaving = try greeter("leaving", in: kernel.buildDirectory)
        for path in [staying, leaving] {
            try FileManager.default.copyItem(atPath: path, toPath: kernel.pluginsDirectory + "/" + URL(fileURLWithPath: path).lastPathComponent)
        }
        XCTAssertTrue(waitUntil(timeout: 10) { self.greeting(kernel, "staying") == "v1" && self.greeting(kernel, "leaving") == "hi" })
        let replacement = try greeter("staying", in: kernel.buildDirectory + "/v2", greeting: "v2")
        let arriving = try greeter("arriving", in: kernel.buildDirectory)

        // Frozen, the kernel reads no event; more than the queue holds (fs.inotify.max_queued_events) overflow it.
        let limit = Int((try? String(contentsOfFile: "/proc/sys/fs/inotify/max_queued_events", encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines) ?? "") ?? 16_384
        let worker = try kernel.workerPID()
        kill(worker, SIGSTOP)
        var resumed = false
        defer { if !resumed { kill(worker, SIGCONT) } }
        // A signal is delivered, not obeyed, when kill returns: the noise starts once the worker is stopped.
        XCTAssertTrue(waitUntil(timeout: 5, interval: 0.01) { Self.processState(worker) == "T" }, "the worker did not stop")
        let noise = kernel.pluginsDirectory + "/.noise"
        for index in 0...(limit + 1_000) {
            let fd = open("\(noise)\(index)", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
            if fd >= 0 { close(fd) } // one IN_CLOSE_WRITE each (hidden: the kernel ignores the names)
        }
        try FileManager.default.removeItem(atPath: kernel.pluginsDirectory + "/libleaving.so")
        try FileManager.default.copyItem(atPath: arriving, toPath: kernel.pluginsDirectory + "/.arriving.tmp")
        XCTAssertEqual(rename(kernel.pluginsDirectory + "/.arriving.tmp", kernel.pluginsDirectory + "/libarriving.so"), 0)
        try FileManager.default.copyItem(atPath: replacement, toPath: kernel.pluginsDirectory + "/.staying.tmp")
        XCTAssertEqual(rename(kernel.pluginsDirectory + "/.staying.tmp", kernel.pluginsDirectory + "/libstaying.so"), 0)
        kill(worker, SIGCONT)
        resumed = true

        XCTAssertNotNil(kernel.waitForLogLine(containing: ["overflowed"], timeout: 20), "no overflow reported:\n\(kernel.log())")
        let reconciled = waitUntil(timeout: 20) {
            guard let list = try? self.list(kernel) else { return false }
            return list.plugin(named: "arriving") != nil && list.plugin(named: "leaving") == nil
                && self.greeting(kernel, "staying") == "v2"
        }
        XCTAssertTrue(reconciled, "\(String(describing: try? list(kernel)))\n\(kernel.log())")
        XCTAssertEqual(greeting(kernel, "arriving"), "hi")
    }

    func testADirectorySwappedByASymlinkIsFollowed() throws {
        let kernel = try KernelProcess(plugins: ["libhttp.so", "libhello.so"])
        defer {
            kernel.stop()
            kernel.removeDirectory()
        }
        // plugins -> release-a; release-b holds the same http (a hard link) and a greeter instead of hello.
        let releaseA = kernel.root + "/release-a"
        let releaseB = kernel.root + "/release-b"
        XCTAssertEqual(rename(kernel.pluginsDirectory, releaseA), 0)
        try FileManager.default.createDirectory(atPath: releaseB, withIntermediateDirectories: true)
        XCTAssertEqual(link(releaseA + "/libhttp.so", releaseB + "/libhttp.so"), 0)
        _ = try greeter("greeter", in: releaseB)
        XCTAssertEqual(symlink("release-a", kernel.pluginsDirectory), 0)
        try kernel.start(waitingFor: ["http", "hello"])
        XCTAssertEqual(try HTTP.call(port: kernel.httpPort, "hello").status, 200)

        // The deploy: a new symlink renamed over the old one (atomic).
        XCTAssertEqual(symlink("release-b", kernel.root + "/plugins.next"), 0)
        XCTAssertEqual(rename(kernel.root + "/plugins.next", kernel.pluginsDirectory), 0)

        let followed = waitUntil(timeout: 20) {
            guard let list = try? self.list(kernel) else { return false }
            return list.plugin(named: "greeter") != nil && list.plugin(named: "hello") == nil
        }
        XCTAssertTrue(followed, "\(String(describing: try? list(kernel)))\n\(kernel.log())")
        XCTAssertNotNil(kernel.waitForLogLine(containing: ["rescanning the plugins directory"], timeout: 5))
        XCTAssertEqual(greeting(kernel, "greeter"), "hi")
        // http is the same file (a hard link): not reloaded by the swap.
        XCTAssertFalse(kernel.log().contains("reloaded plugin http"), kernel.log())

        // Then a file dropped into the new directory is seen: the watch follows the path.
        _ = try greeter("late", in: kernel.buildDirectory)
        try FileManager.default.copyItem(atPath: kernel.buildDirectory + "/liblate.so", toPath: releaseB + "/.late.tmp")
        XCTAssertEqual(rename(releaseB + "/.late.tmp", releaseB + "/liblate.so"), 0)
        XCTAssertTrue(waitUntil(timeout: 10) { self.greeting(kernel, "late") == "hi" }, kernel.log())
    }

    /// The state letter of /proc/<pid>/stat ("T" when stopped).
    static func processState(_ pid: Int32) -> String? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return nil }
        return stat[stat.index(after: close)...].split(separator: " ").first.map(String.init)
    }
}
