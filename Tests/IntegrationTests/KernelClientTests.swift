import Foundation
import KernelClient
import XCTest

/// The KernelClient library against a real kernel over http, ws and tcp:
/// results, typed errors, streams both ways, cancellation, many calls on one
/// connection, and a closed client.
final class KernelClientTests: IntegrationTestCase {
    /// A kernel with the three transports, and where the client finds each.
    private struct Kernel {
        let process: KernelProcess
        let http: KernelAddress
        let ws: KernelAddress
        let tcp: KernelAddress

        var all: [(name: String, address: KernelAddress)] { [("http", http), ("ws", ws), ("tcp", tcp)] }
        /// The transports that carry streams.
        var streaming: [(name: String, address: KernelAddress)] { [("ws", ws), ("tcp", tcp)] }
    }

    private func startKernelForClients() throws -> Kernel {
        let (process, ws, tcp) = try startKernelWithAllTransports()
        return Kernel(process: process, http: .http(port: process.httpPort), ws: .ws(port: ws), tcp: .tcp(port: tcp))
    }

    private func connect(_ address: KernelAddress, _ name: String) async throws -> KernelClient {
        try await within("connect over \(name)") { try await KernelClient.connect(address) }
    }

    /// Polls `hello.streams` until `predicate` holds or `timeout` passes; returns the last counts.
    private func streamCounts(_ http: KernelAddress, timeout: Duration = .seconds(10),
                              until predicate: (StreamCounts) -> Bool) async throws -> StreamCounts {
        let client = try await connect(http, "http")
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        while true {
            let counts = try await within("hello.streams") {
                try await client.call("hello.streams", NoFields()).decode(StreamCounts.self)
            }
            if predicate(counts) || clock.now >= deadline {
                await client.close()
                return counts
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    // MARK: Unary calls

    func testUnaryCallReturnsTheDecodedResultOnEveryTransport() async throws {
        let kernel = try startKernelForClients()
        let payload = Array(#"{"text":"a \"quoted\" line\nwith é and 😀","list":[1,2.5,null,true,{}]}"#.utf8)
        for (name, address) in kernel.all {
            let client = try await connect(address, name)

            let greeted = try await within("greet over \(name)") { try await client.call("greet", GreetBody(name: "ada")) }
            XCTAssertEqual(try greeted.decode(MessageBody.self).message, "hello, ada", "\(name): \(greeted.text)")
            XCTAssertEqual(greeted.meta["x-hello-middleware"], "1", "\(name): \(greeted.meta)")

            let hello = try await within("hello over \(name)") { try await client.call("hello", json: []) }
            XCTAssertEqual(try hello.decode(MessageBody.self).message, "hello", "\(name): \(hello.text)")

            // hello.echo answers its payload: the bytes travel unchanged both ways.
            let echoed = try await within("hello.echo over \(name)") { try await client.call("hello.echo", json: payload) }
            XCTAssertEqual(echoed.body.bytes, payload, "\(name): \(echoed.text)")

            await client.close()
        }
    }

    func testTypedErrorsSurfaceWithTheirCodeOnEveryTransport() async throws {
        let kernel = try startKernelForClients()
        for (name, address) in kernel.all {
            let client = try await connect(address, name)

            let conflict = try await thrownError("hello.fail over \(name)") {
                try await client.call("hello.fail", FailBody(code: "conflict"))
            }
            if case .call(let code, let message, _)? = conflict as? KernelClientError {
                XCTAssertEqual(code, "conflict", name)
                XCTAssertEqual(message, "failed on purpose with conflict", name)
            } else {
                XCTFail("\(name): expected a call error, got \(String(describing: conflict))")
            }

            let invalid = try await thrownError("greet with an empty name over \(name)") {
                try await client.call("greet", GreetBody(name: ""))
            }
            if case .call(let code, let message, let details)? = invalid as? KernelClientError {
                XCTAssertEqual(code, "validation", name)
                XCTAssertEqual(message, "name: must not be empty", name)
                XCTAssertEqual(try details.decode(ValidationDetails.self).fields,
                               [FieldProblem(field: "name", message: "must not be empty")], "\(name): \(details.text)")
            } else {
                XCTFail("\(name): expected a call error, got \(String(describing: invalid))")
            }
            XCTAssertEqual((invalid as? KernelClientError)?.code, "validation", name)

            // The connection serves the next call as usual.
            let hello = try await within("hello after errors over \(name)") { try await client.call("hello", NoFields()) }
            XCTAssertEqual(try hello.decode(MessageBody.self).message, "hello", name)

            await client.close()
        }
    }

    func testUnknownEndpointIsNotFoundOnEveryTransport() async throws {
        let kernel = try startKernelForClients()
        for (name, address) in kernel.all {
            let client = try await connect(address, name)
            let missing = try await thrownError("no.such.endpoint over \(name)") {
                try await client.call("no.such.endpoint", NoFields())
            }
            XCTAssertEqual((missing as? KernelClientError)?.code, "not_found", "\(name): \(String(describing: missing))")
            await client.close()
        }
    }

    func testMetaReachesTheMiddlewareOnEveryTransport() async throws {
        let kernel = try startKernelForClients()
        for (name, address) in kernel.all {
            let client = try await connect(address, name)
            // Names are case-insensitive, as HTTP headers are.
            let denied = try await thrownError("hello with x-deny over \(name)") {
                try await client.call("hello", NoFields(), meta: ["X-Deny": "yes"])
            }
            if case .call(let code, let message, _)? = denied as? KernelClientError {
                XCTAssertEqual(code, "unauthorized", name)
                XCTAssertEqual(message, "x-deny header present", name)
            } else {
                XCTFail("\(name): expected a call error, got \(String(describing: denied))")
            }
            let allowed = try await within("hello with other meta over \(name)") {
                try await client.call("hello", NoFields(), meta: ["x-other": "1"])
            }
            XCTAssertEqual(try allowed.decode(MessageBody.self).message, "hello", name)
            await client.close()
        }
    }

    // MARK: Many calls on one connection

    func testManyConcurrentCallsOnOneConnectionEachGetTheirOwnAnswer() async throws {
        let kernel = try startKernelForClients()
        let count = 200
        let codes = ["conflict", "not_found", "forbidden", "unauthorized", "rate_limited"]
        for (name, address) in kernel.all {
            let client = try await connect(address, name)
            let answers = try await within("\(count) concurrent calls over \(name)", timeout: .seconds(60)) {
                try await withThrowingTaskGroup(of: (Int, String).self) { group in
                    for index in 0..<count {
                        group.addTask {
                            guard index % 4 == 3 else {
                                let response = try await client.call("greet", GreetBody(name: "caller \(index)"))
                                return (index, try response.decode(MessageBody.self).message)
                            }
                            do {
                                _ = try await client.call("hello.fail", FailBody(code: codes[index % codes.count]))
                                return (index, "no error")
                            } catch let error as KernelClientError {
                                return (index, "error \(error.code ?? "\(error)")")
                            }
                        }
                    }
                    var answers: [Int: String] = [:]
                    for try await (index, answer) in group { answers[index] = answer }
                    return answers
                }
            }
            XCTAssertEqual(answers.count, count, name)
            for index in 0..<count {
                let expected = index % 4 == 3 ? "error \(codes[index % codes.count])" : "hello, caller \(index)"
                XCTAssertEqual(answers[index], expected, "\(name): call \(index)")
            }
            await client.close()
        }
    }

    // MARK: Streams

    func testServerStreamYieldsEveryItemInOrderThenEnds() async throws {
        let kernel = try startKernelForClients()
        let count = 300
        for (name, address) in kernel.streaming {
            let client = try await connect(address, name)
            let stream = try await within("start hello.ticker over \(name)") {
                try await client.stream("hello.ticker", TickerBody(count: count, intervalMs: 0))
            }
            let drained = try await drain(stream, "hello.ticker over \(name)")
            XCTAssertNil(drained.failure, "\(name): \(String(describing: drained.failure))")
            let ticks = try drained.items.map { try $0.decode(TickBody.self) }
            XCTAssertEqual(ticks.map { $0.n }, Array(1...count), "\(name): items missing or out of order")
            XCTAssertEqual(ticks.filter { $0.of != count }.count, 0, name)

            let result = try await within("hello.ticker result over \(name)") { try await stream.result }
            XCTAssertEqual(try result.decode([String: String].self), [:], "\(name): \(result.text)")
            XCTAssertEqual(result.meta["x-hello-middleware"], "1", "\(name): \(result.meta)")
            await client.close()
        }
    }

    func testBidirectionalStreamAnswersEachItemThenEnds() async throws {
        let kernel = try startKernelForClients()
        for (name, address) in kernel.streaming {
            let client = try await connect(address, name)
            let stream = try await within("start hello.chat over \(name)") {
                try await client.stream("hello.chat", ChatRequestBody(name: "ada"))
            }
            for n in 1...5 {
                try await within("item \(n) over \(name)") { try await stream.send(ChatLineBody(text: "line \(n)")) }
            }
            try await within("end over \(name)") { try await stream.end() }
            let drained = try await drain(stream, "hello.chat over \(name)")
            XCTAssertNil(drained.failure, "\(name): \(String(describing: drained.failure))")
            let replies = try drained.items.map { try $0.decode(ChatReplyBody.self) }
            XCTAssertEqual(replies.map { $0.n }, [1, 2, 3, 4, 5], name)
            XCTAssertEqual(replies.map { $0.text }, (1...5).map { "ada: line \($0)" }, name)
            await client.close()
        }
    }

    func testServerStreamsOverHTTPArriveAsLinesAndCancelByClosing() async throws {
        let kernel = try startKernelForClients()
        let client = try await connect(kernel.http, "http")
        let stream = try await within("start hello.ticker over http") {
            try await client.stream("hello.ticker", TickerBody(count: 20, intervalMs: 0))
        }
        let drained = try await drain(stream, "hello.ticker over http")
        XCTAssertNil(drained.failure, String(describing: drained.failure))
        XCTAssertEqual(try drained.items.map { try $0.decode(TickBody.self).n }, Array(1...20))

        // A client item has no way over HTTP.
        let chat = try await client.stream("hello.chat", ChatRequestBody(name: "ada"))
        let refused = try await thrownError("an item over http") { try await chat.send(ChatLineBody(text: "x")) }
        if case .unsupported? = refused as? KernelClientError {} else {
            XCTFail("expected unsupported, got \(String(describing: refused))")
        }
        await chat.cancel()

        let before = try await streamCounts(kernel.http) { $0.active == 0 }
        let long = try await client.stream("hello.ticker", TickerBody(count: 100_000, intervalMs: 20))
        let (firstItem, reader) = startReading(long)
        try await within("the first tick over http") { await firstItem() }
        await long.cancel()
        let ended = try await within("the end of the stream after cancel over http") { await reader.value }
        if case .call(let code, _, _)? = ended.failure as? KernelClientError {
            XCTAssertEqual(code, "cancelled")
        } else {
            XCTFail("expected cancelled, got \(String(describing: ended.failure))")
        }
        let counts = try await streamCounts(kernel.http) { $0.cancelled >= before.cancelled + 1 && $0.active == 0 }
        XCTAssertEqual(counts.active, 0, "\(counts)")

        // The client's own connection goes on.
        let hello = try await within("hello after a stream over http") { try await client.call("hello", NoFields()) }
        XCTAssertEqual(try hello.decode(MessageBody.self).message, "hello")
        await client.close()
    }

    // MARK: Cancellation

    func testCancelEndsTheStreamWithCancelledAndCancelsTheHandler() async throws {
        let kernel = try startKernelForClients()
        for (name, address) in kernel.streaming {
            let before = try await streamCounts(kernel.http) { $0.active == 0 }
            let client = try await connect(address, name)
            let stream = try await within("start hello.ticker over \(name)") {
                try await client.stream("hello.ticker", TickerBody(count: 100_000, intervalMs: 20))
            }
            let (firstItem, reader) = startReading(stream)
            try await within("the first tick over \(name)") { await firstItem() }
            await stream.cancel()

            let drained = try await within("the end of the stream after cancel over \(name)") { await reader.value }
            XCTAssertFalse(drained.items.isEmpty, name)
            XCTAssertLessThan(drained.items.count, 100_000, name)
            XCTAssertEqual((drained.failure as? KernelClientError)?.code, "cancelled",
                           "\(name): \(String(describing: drained.failure))")
            let result = try await thrownError("the result after cancel over \(name)") { try await stream.result }
            XCTAssertEqual((result as? KernelClientError)?.code, "cancelled", "\(name): \(String(describing: result))")

            // The handler saw it, while the connection is still open.
            let counts = try await streamCounts(kernel.http) { $0.cancelled == before.cancelled + 1 && $0.active == 0 }
            XCTAssertEqual(counts.cancelled, before.cancelled + 1, "\(name): \(counts)")
            XCTAssertEqual(counts.active, 0, "\(name): \(counts)")
            XCTAssertEqual(counts.completed, before.completed, "\(name): \(counts)")

            // The connection goes on.
            let hello = try await within("hello after cancel over \(name)") { try await client.call("hello", NoFields()) }
            XCTAssertEqual(try hello.decode(MessageBody.self).message, "hello", name)
            await client.close()
        }
    }

    func testCancellingTheConsumingTaskCancelsTheStreamOnTheServer() async throws {
        let kernel = try startKernelForClients()
        for (name, address) in kernel.streaming {
            let before = try await streamCounts(kernel.http) { $0.active == 0 }
            let client = try await connect(address, name)
            let stream = try await within("start hello.ticker over \(name)") {
                try await client.stream("hello.ticker", TickerBody(count: 100_000, intervalMs: 20))
            }
            let (firstItem, reader) = startReading(stream)
            try await within("the first tick over \(name)") { await firstItem() }
            reader.cancel()

            // Checked while the connection is open: a disconnection would cancel the stream anyway.
            let counts = try await streamCounts(kernel.http) { $0.cancelled == before.cancelled + 1 && $0.active == 0 }
            XCTAssertEqual(counts.cancelled, before.cancelled + 1, "\(name): the handler was not cancelled: \(counts)")
            XCTAssertEqual(counts.active, 0, "\(name): \(counts)")

            await client.close()
            _ = try await streamCounts(kernel.http) { $0.active == 0 }
        }
    }

    func testClosingTheClientFailsItsStreamsAndCancelsThemOnTheServer() async throws {
        let kernel = try startKernelForClients()
        for (name, address) in kernel.streaming {
            let before = try await streamCounts(kernel.http) { $0.active == 0 }
            let client = try await connect(address, name)
            let stream = try await within("start hello.ticker over \(name)") {
                try await client.stream("hello.ticker", TickerBody(count: 100_000, intervalMs: 20))
            }
            let running = try await streamCounts(kernel.http) { $0.active == 1 }
            XCTAssertEqual(running.active, 1, "\(name): \(running)")

            await client.close()
            let drained = try await drain(stream, "hello.ticker after close over \(name)")
            if case .closed? = drained.failure as? KernelClientError {} else {
                XCTFail("\(name): expected closed, got \(String(describing: drained.failure))")
            }
            let counts = try await streamCounts(kernel.http) { $0.cancelled == before.cancelled + 1 && $0.active == 0 }
            XCTAssertEqual(counts.cancelled, before.cancelled + 1, "\(name): \(counts)")
            XCTAssertEqual(counts.active, 0, "\(name): \(counts)")
        }
    }

    // MARK: A closed client

    func testCallsAfterCloseFailWithClosed() async throws {
        let kernel = try startKernelForClients()
        for (name, address) in [("ws", kernel.ws), ("tcp", kernel.tcp), ("http", kernel.http)] {
            let client = try await connect(address, name)
            _ = try await within("hello over \(name)") { try await client.call("hello", NoFields()) }
            await client.close()
            let refused = try await thrownError("a call after close over \(name)", timeout: .seconds(10)) {
                try await client.call("hello", NoFields())
            }
            if case .closed? = refused as? KernelClientError {} else {
                XCTFail("\(name): expected closed, got \(String(describing: refused))")
            }
        }
    }
}

// MARK: - Requests and answers of the sample plugin

extension KernelClientTests {
    fileprivate struct NoFields: Codable, Sendable {}
    fileprivate struct GreetBody: Codable, Sendable { var name: String }
    fileprivate struct MessageBody: Codable, Sendable { var message: String }
    fileprivate struct FailBody: Codable, Sendable { var code: String }
    fileprivate struct TickerBody: Codable, Sendable {
        var count: Int
        var intervalMs: Int
    }
    fileprivate struct TickBody: Codable, Sendable {
        var n: Int
        var of: Int
    }
    fileprivate struct ChatRequestBody: Codable, Sendable { var name: String }
    fileprivate struct ChatLineBody: Codable, Sendable { var text: String }
    fileprivate struct ChatReplyBody: Codable, Sendable {
        var n: Int
        var text: String
    }
    fileprivate struct FieldProblem: Codable, Sendable, Equatable {
        var field: String
        var message: String
    }
    fileprivate struct ValidationDetails: Codable, Sendable { var fields: [FieldProblem] }
    fileprivate struct StreamCounts: Codable, Sendable, CustomStringConvertible {
        var started: Int
        var completed: Int
        var cancelled: Int
        var failed: Int
        var active: Int
        var description: String {
            "started \(started), completed \(completed), cancelled \(cancelled), failed \(failed), active \(active)"
        }
    }
}

// MARK: - Waiting with a deadline

private struct DeadlinePassed: Error, CustomStringConvertible {
    var description: String
}

/// The outcome of `body`; throws `DeadlinePassed` when it has not finished
/// within `timeout` (it is then cancelled and left to end on its own, so a
/// call that never answers fails the test instead of hanging it).
private func within<T: Sendable>(_ what: String, timeout: Duration = .seconds(20),
                                 _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    let (outcomes, continuation) = AsyncStream.makeStream(of: Result<T, any Error>?.self)
    let work = Task.detached {
        do {
            continuation.yield(.success(try await body()))
        } catch {
            continuation.yield(.failure(error))
        }
    }
    let timer = Task.detached {
        try? await Task.sleep(for: timeout)
        continuation.yield(nil)
    }
    var first: Result<T, any Error>? = nil
    for await outcome in outcomes {
        first = outcome
        break
    }
    timer.cancel()
    continuation.finish()
    guard let first else {
        work.cancel()
        throw DeadlinePassed(description: "\(what): no outcome within \(timeout)")
    }
    return try first.get()
}

/// The error `body` throws within the deadline (nil: it succeeded).
private func thrownError<T: Sendable>(_ what: String, timeout: Duration = .seconds(20),
                                      _ body: @escaping @Sendable () async throws -> T) async throws -> (any Error)? {
    try await within(what, timeout: timeout) { () async -> (any Error)? in
        do {
            _ = try await body()
            return nil
        } catch {
            return error
        }
    }
}

/// What a stream delivered: its items, and the error it ended with (nil: it ended normally).
private struct Drained: Sendable {
    var items: [JSONBody]
    var failure: (any Error)?
}

/// Reads `stream` to its end within the deadline.
private func drain(_ stream: KernelStream, _ what: String, timeout: Duration = .seconds(30)) async throws -> Drained {
    let (_, reader) = startReading(stream)
    return try await within(what, timeout: timeout) { await reader.value }
}

/// Starts reading `stream` in a task of its own: returns a wait for its
/// first item (or its end) and the reading task.
private func startReading(_ stream: KernelStream) -> (firstItem: @Sendable () async -> Void, reader: Task<Drained, Never>) {
    let (signals, signal) = AsyncStream.makeStream(of: Void.self)
    let reader = Task.detached { () -> Drained in
        defer { signal.finish() }
        var items: [JSONBody] = []
        do {
            for try await item in stream {
                items.append(item)
                if items.count == 1 { signal.yield() }
            }
            return Drained(items: items, failure: nil)
        } catch {
            return Drained(items: items, failure: error)
        }
    }
    let firstItem: @Sendable () async -> Void = {
        for await _ in signals { return }
    }
    return (firstItem, reader)
}
