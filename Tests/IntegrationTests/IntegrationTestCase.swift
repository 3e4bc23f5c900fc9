import Foundation
import XCTest

/// Base of the integration tests: starts real kernels in fresh temporary
/// directories and, when a test fails, prints their logs and keeps their
/// directories for inspection.
class IntegrationTestCase: XCTestCase {
    private var kernels: [KernelProcess] = []

    /// Starts a kernel with `plugins` (build products) in its plugins
    /// directory and waits until it serves HTTP and lists `waitingFor`.
    func startKernel(plugins: [String] = ["libhttp.so", "libhello.so"], settings: [String] = [],
                     waitingFor: [String]? = nil, file: StaticString = #filePath, line: UInt = #line) throws -> KernelProcess {
        let kernel: KernelProcess
        do {
            kernel = try KernelProcess(plugins: plugins, settings: settings)
        } catch {
            XCTFail("\(error)", file: file, line: line)
            throw error
        }
        kernels.append(kernel)
        let names = waitingFor ?? plugins.map { String($0.dropFirst(3).dropLast(3)) } // libhttp.so → http
        do {
            try kernel.start(waitingFor: names)
        } catch {
            XCTFail("\(error)", file: file, line: line)
            throw error
        }
        return kernel
    }

    override func tearDown() {
        let failed = (testRun?.totalFailureCount ?? 0) > 0
        for kernel in kernels {
            kernel.stop()
            if failed {
                print("""
                    ---- kernel log (\(kernel.logPath)) ----
                    \(kernel.log())
                    ---- end of kernel log; directory kept: \(kernel.root) ----
                    """)
            } else {
                kernel.removeDirectory()
            }
        }
        kernels.removeAll()
        super.tearDown()
    }

    /// Polls until `endpoint` answers POST with `status` (and `predicate`);
    /// returns the last response (nil: none at all).
    @discardableResult
    func waitForCall(_ kernel: KernelProcess, _ endpoint: String, _ json: String = "{}", status: Int,
                     timeout: TimeInterval = 10, where predicate: (HTTPResponse) -> Bool = { _ in true },
                     file: StaticString = #filePath, line: UInt = #line) -> HTTPResponse? {
        var last: HTTPResponse?
        var lastError: Error?
        let ok = waitUntil(timeout: timeout) {
            do {
                let response = try HTTP.call(port: kernel.httpPort, endpoint, json, timeout: 5)
                last = response
                return response.status == status && predicate(response)
            } catch {
                lastError = error
                return false
            }
        }
        if !ok {
            XCTFail("POST /api/\(endpoint) did not answer \(status) within \(timeout) s; last: \(last?.summary ?? "none"), error: \(lastError.map { "\($0)" } ?? "none")",
                    file: file, line: line)
        }
        return last
    }

    /// Asserts that `hello` still answers 200 {"message":"hello"}.
    func assertHelloAnswers(_ kernel: KernelProcess, file: StaticString = #filePath, line: UInt = #line) {
        do {
            let response = try HTTP.call(port: kernel.httpPort, "hello")
            XCTAssertEqual(response.status, 200, response.summary, file: file, line: line)
            XCTAssertEqual(response.json?["message"] as? String, "hello", response.summary, file: file, line: line)
        } catch {
            XCTFail("POST /api/hello failed: \(error)", file: file, line: line)
        }
    }

    /// Runs `kernelctl --socket <kernel's socket> <arguments>`.
    func kernelctl(_ kernel: KernelProcess, _ arguments: [String], timeout: TimeInterval = 60) throws -> ProgramResult {
        let result = try runProgram(try Products.path("kernelctl"), ["--socket", kernel.socketPath] + arguments,
                                    workDirectory: kernel.root, timeout: timeout)
        XCTAssertFalse(result.timedOut, "kernelctl \(arguments) did not exit within \(timeout) s")
        return result
    }
}

/// Calls an endpoint over HTTP in a loop on a background thread (a new
/// connection per call) and records every outcome, to check that a reload
/// never fails a call.
final class BackgroundCaller: @unchecked Sendable {
    struct Outcome {
        var status: Int // 0: transport error
        var body: String
        var error: String?
    }

    private let port: Int
    private let endpoint: String
    private let json: String
    private let lock = NSLock()
    private var outcomes: [Outcome] = []
    private var stopping = false
    private let finished = DispatchSemaphore(value: 0)

    init(port: Int, endpoint: String, json: String = "{}") {
        self.port = port
        self.endpoint = endpoint
        self.json = json
    }

    func start() {
        let thread = Thread { [self] in
            while !lock.withLock({ stopping }) {
                let outcome: Outcome
                do {
                    let response = try HTTP.call(port: port, endpoint, json, timeout: 10)
                    outcome = Outcome(status: response.status, body: response.text, error: nil)
                } catch {
                    outcome = Outcome(status: 0, body: "", error: "\(error)")
                }
                lock.withLock { outcomes.append(outcome) }
            }
            finished.signal()
        }
        thread.name = "background-caller"
        thread.start()
    }

    var snapshot: [Outcome] { lock.withLock { outcomes } }

    /// Stops the loop and returns every outcome.
    func stop() -> [Outcome] {
        lock.withLock { stopping = true }
        _ = finished.wait(timeout: .now() + 30)
        return snapshot
    }
}
