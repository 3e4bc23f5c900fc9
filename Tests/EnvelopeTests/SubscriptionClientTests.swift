import EnvelopeTransport
import Foundation
import KernelClient
import NIOCore
import Synchronization
import XCTest

/// KernelClient.subscribe against a scripted server (no kernel): the
/// `subscribe` it sends, the items it yields, resuming after a dropped
/// connection with no duplicate, failures, unsubscribe and close. Every
/// test runs under a deadline; nothing waits on a timer to hope.
final class SubscriptionClientTests: XCTestCase {
    // MARK: Helpers

    /// Iterates `subscription` in a task of its own until `count` events, collecting everything.
    private func collect(_ subscription: EventSubscription, events count: Int) -> Task<[SubscriptionItem], any Error> {
        Task {
            var items: [SubscriptionItem] = []
            var events = 0
            for try await item in subscription {
                items.append(item)
                if case .event = item { events += 1 }
                if events == count { break }
            }
            return items
        }
    }

    private func offsets(_ items: [SubscriptionItem]) -> [UInt64] {
        items.compactMap { if case .event(let event) = $0 { event.offset } else { nil } }
    }

    private func gaps(_ items: [SubscriptionItem]) -> [SubscriptionGap] {
        items.compactMap { if case .gap(let gap) = $0 { gap } else { nil } }
    }

    // MARK: Resuming

    func testResubscribesAfterADroppedConnectionFromTheLastOffsetWithoutDuplicates() async throws {
        let server = try await ScriptedServer.start(.tcp)
        let client = try await KernelClient.connect(.tcp(host: "127.0.0.1", port: server.port))
        let consumer = collect(client.subscribe(to: ["orders.*", "audit.#"], since: .offset(10), overflow: .disconnect,
                                                meta: ["authorization": "Bearer t"]),
                               events: 4)
        try await withDeadline {
            var messages = server.messages.makeAsyncIterator()
            let first = try await messages.take()
            let request = first.object
            XCTAssertEqual(request["type"] as? String, "subscribe")
            XCTAssertEqual(request["patterns"] as? [String], ["orders.*", "audit.#"])
            XCTAssertEqual(request["since"] as? Int, 10)
            XCTAssertEqual(request["overflow"] as? String, "disconnect")
            XCTAssertEqual(request["meta"] as? [String: String], ["authorization": "Bearer t"])
            let id = first.rawID
            first.connection.send(Wire.subscribed(id, oldest: 1, head: 13))
            for offset in 11...13 { first.connection.send(Wire.event(id, offset)) }
            first.connection.close()

            let second = try await messages.take()
            XCTAssertEqual(second.object["type"] as? String, "subscribe")
            XCTAssertEqual(second.object["since"] as? Int, 13, "resumes after the last event yielded")
            XCTAssertEqual(second.object["patterns"] as? [String], ["orders.*", "audit.#"])
            XCTAssertFalse(second.connection === first.connection)
            let id2 = second.rawID
            second.connection.send(Wire.subscribed(id2, oldest: 1, head: 14))
            second.connection.send(Wire.event(id2, 12)) // older than the last yielded: dropped
            second.connection.send(Wire.event(id2, 13)) // repeated: dropped
            second.connection.send(Wire.event(id2, 14))

            // Leaving the loop unsubscribes.
            let third = try await messages.take()
            XCTAssertEqual(third.object["type"] as? String, "unsubscribe")
            XCTAssertEqual(third.rawID, id2)
            XCTAssertTrue(third.connection === second.connection)
            third.connection.send(#"{"type":"unsubscribed","id":\#(id2)}"#)
        }
        let items = try await value(of: consumer)
        XCTAssertEqual(offsets(items), [11, 12, 13, 14])
        XCTAssertTrue(gaps(items).isEmpty)
        guard case .event(let first)? = items.first else { return XCTFail("no event") }
        XCTAssertEqual(first.id, "e-11", "the event's own id, not the subscription's")
        XCTAssertEqual(first.topic, "orders.created")
        XCTAssertEqual(first.createdAt, "2026-12-01T10:00:00.000Z")
        XCTAssertEqual(first.publisher, "orders")
        XCTAssertEqual(first.payload.text, #"{"n":11}"#)
        XCTAssertEqual(first.context.text, #"{"user":"u1"}"#)
        await client.close()
        await server.stop()
    }

    func testWithoutEventsYetItResubscribesFromTheOriginalStart() async throws {
        let server = try await ScriptedServer.start(.tcp)
        let client = try await KernelClient.connect(.tcp(host: "127.0.0.1", port: server.port))
        let consumer = collect(client.subscribe(to: ["a.b"], since: .time("2026-12-01T10:00:00Z")), events: 1)
        try await withDeadline {
            var messages = server.messages.makeAsyncIterator()
            let first = try await messages.take()
            XCTAssertEqual(first.object["since"] as? String, "2026-12-01T10:00:00Z")
            first.connection.close()
            let second = try await messages.take()
            XCTAssertEqual(second.object["since"] as? String, "2026-12-01T10:00:00Z")
            second.connection.send(Wire.event(second.rawID, 5))
        }
        let items = try await value(of: consumer)
        XCTAssertEqual(offsets(items), [5])
        await client.close()
        await server.stop()
    }

    func testUnavailableResumesLikeADroppedConnection() async throws {
        let server = try await ScriptedServer.start(.tcp)
        let client = try await KernelClient.connect(.tcp(host: "127.0.0.1", port: server.port))
        let consumer = collect(client.subscribe(to: ["a.*"]), events: 2)
        try await withDeadline {
            var messages = server.messages.makeAsyncIterator()
            let first = try await messages.take()
            XCTAssertNil(first.object["since"], "no since: from now on")
            first.connection.send(Wire.event(first.rawID, 7))
            first.connection.send(#"{"type":"error","id":\#(first.rawID),"error":{"code":"unavailable","message":"too slow","details":{"reason":"slow_consumer"}}}"#)
            let second = try await messages.take()
            XCTAssertEqual(second.object["type"] as? String, "subscribe")
            XCTAssertEqual(second.object["since"] as? Int, 7)
            second.connection.send(Wire.event(second.rawID, 8))
        }
        let items = try await value(of: consumer)
        XCTAssertEqual(offsets(items), [7, 8])
        await client.close()
        await server.stop()
    }

    // MARK: Gaps

    func testGapsAreYieldedInPlace() async throws {
        let server = try await ScriptedServer.start(.tcp)
        let client = try await KernelClient.connect(.tcp(host: "127.0.0.1", port: server.port))
        let consumer = collect(client.subscribe(to: ["a.*"], since: .offset(10)), events: 2)
        try await withDeadline {
            var messages = server.messages.makeAsyncIterator()
            let first = try await messages.take()
            let id = first.rawID
            first.connection.send(Wire.subscribed(id, gap: true, oldest: 20, head: 30))
            first.connection.send(Wire.event(id, 20))
            first.connection.send(Wire.item(id, #"{"type":"gap","dropped":3}"#))
            first.connection.send(Wire.item(id, #"{"type":"later","x":1}"#)) // a type of a later version: skipped
            first.connection.send(Wire.event(id, 24))
        }
        let items = try await value(of: consumer)
        XCTAssertEqual(items.count, 4)
        XCTAssertEqual(gaps(items), [SubscriptionGap(oldest: 20, dropped: nil), SubscriptionGap(oldest: nil, dropped: 3)])
        guard case .gap = items[0], case .event = items[1], case .gap = items[2], case .event = items[3] else {
            return XCTFail("out of order: \(items)")
        }
        await client.close()
        await server.stop()
    }

    func testEventsOfUnkeptTopicsHaveOffsetZeroAndAreNeverTakenForRepeats() async throws {
        let server = try await ScriptedServer.start(.tcp)
        let client = try await KernelClient.connect(.tcp(host: "127.0.0.1", port: server.port))
        let consumer = collect(client.subscribe(to: ["#"]), events: 4)
        try await withDeadline {
            var messages = server.messages.makeAsyncIterator()
            let first = try await messages.take()
            for offset in [5, 0, 0, 6] { first.connection.send(Wire.event(first.rawID, offset)) }
        }
        let items = try await value(of: consumer)
        XCTAssertEqual(offsets(items), [5, 0, 0, 6])
        await client.close()
        await server.stop()
    }

    // MARK: Ends

    func testAFailureEndsTheIterationWithItsError() async throws {
        let server = try await ScriptedServer.start(.tcp)
        let client = try await KernelClient.connect(.tcp(host: "127.0.0.1", port: server.port))
        let consumer = collect(client.subscribe(to: ["a.*"]), events: 1)
        try await withDeadline {
            var messages = server.messages.makeAsyncIterator()
            let first = try await messages.take()
            first.connection.send(#"{"type":"error","id":\#(first.rawID),"error":{"code":"not_found","message":"no endpoint 'pubsub.subscribe'","details":{}}}"#)
        }
        do {
            _ = try await value(of: consumer)
            XCTFail("no error")
        } catch let error as KernelClientError {
            XCTAssertEqual(error.code, "not_found")
        }
        await client.close()
        await server.stop()
    }

    func testTheServersEndEndsTheIteration() async throws {
        let server = try await ScriptedServer.start(.tcp)
        let client = try await KernelClient.connect(.tcp(host: "127.0.0.1", port: server.port))
        let consumer = collect(client.subscribe(to: ["a.*"]), events: 5)
        try await withDeadline {
            var messages = server.messages.makeAsyncIterator()
            let first = try await messages.take()
            first.connection.send(Wire.event(first.rawID, 1))
            first.connection.send(#"{"type":"end","id":\#(first.rawID),"result":{}}"#)
        }
        let items = try await value(of: consumer)
        XCTAssertEqual(offsets(items), [1])
        await client.close()
        await server.stop()
    }

    func testCancellingTheTaskUnsubscribes() async throws {
        let server = try await ScriptedServer.start(.tcp)
        let client = try await KernelClient.connect(.tcp(host: "127.0.0.1", port: server.port))
        let consumer = collect(client.subscribe(to: ["a.*"]), events: 100)
        try await withDeadline {
            var messages = server.messages.makeAsyncIterator()
            let first = try await messages.take()
            consumer.cancel()
            let second = try await messages.take()
            XCTAssertEqual(second.object["type"] as? String, "unsubscribe")
            XCTAssertEqual(second.rawID, first.rawID)
        }
        let items = try await value(of: consumer)
        XCTAssertTrue(items.isEmpty)
        await client.close()
        await server.stop()
    }

    func testClosingTheClientEndsItsSubscriptions() async throws {
        let server = try await ScriptedServer.start(.tcp)
        let client = try await KernelClient.connect(.tcp(host: "127.0.0.1", port: server.port))
        let consumer = collect(client.subscribe(to: ["a.*"]), events: 100)
        try await withDeadline {
            var messages = server.messages.makeAsyncIterator()
            _ = try await messages.take()
        }
        await client.close()
        do {
            _ = try await value(of: consumer)
            XCTFail("no error")
        } catch let error as KernelClientError {
            guard case .closed = error else { return XCTFail("\(error)") }
        }
        await server.stop()
    }

    func testAFirstConnectionThatFailsThrows() async throws {
        let server = try await ScriptedServer.start(.tcp)
        let client = try await KernelClient.connect(.tcp(host: "127.0.0.1", port: server.port))
        await server.stop()
        let consumer = collect(client.subscribe(to: ["a.*"]), events: 1)
        do {
            _ = try await value(of: consumer)
            XCTFail("no error")
        } catch let error as KernelClientError {
            guard case .closed = error else { return XCTFail("\(error)") }
        }
        await client.close()
    }

    // MARK: Server-Sent Events

    func testOverHTTPItReadsServerSentEventsAndResumesWithLastEventID() async throws {
        let server = try await ScriptedServer.start(.http)
        let client = try await KernelClient.connect(.http(host: "127.0.0.1", port: server.port))
        let consumer = collect(client.subscribe(to: ["orders.*", "audit.#"], since: .time("2026-12-01T10:00:00+01:00"),
                                                overflow: .drop, meta: ["authorization": "Bearer t"]),
                               events: 3)
        let head = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\nconnection: close\r\n\r\n"
        @Sendable func sse(_ offset: Int) -> String {
            "id: \(offset)\nevent: event\ndata: " + #"{"type":"event","offset":\#(offset),"id":"e-\#(offset)","topic":"orders.created","payload":{"n":\#(offset)},"context":{}}"#
                + "\n\n"
        }
        try await withDeadline {
            var messages = server.messages.makeAsyncIterator()
            let first = try await messages.take()
            let lines = first.text.components(separatedBy: "\r\n")
            XCTAssertEqual(lines.first,
                           "GET /events/stream?topics=orders.%2A,audit.%23&since=2026-12-01T10%3A00%3A00%2B01%3A00&overflow=drop HTTP/1.1")
            XCTAssertTrue(lines.contains { $0.lowercased() == "accept: text/event-stream" }, first.text)
            XCTAssertTrue(lines.contains { $0.lowercased() == "authorization: bearer t" }, first.text)
            XCTAssertFalse(first.text.lowercased().contains("last-event-id"))
            first.connection.send(head + "event: subscribed\ndata: {\"type\":\"subscribed\",\"gap\":false,\"oldest\":1,\"head\":4}\n\n"
                                  + ": keepalive\n\n" + sse(5) + sse(6).replacingOccurrences(of: "\n", with: "\r\n"))
            first.connection.close()

            let second = try await messages.take()
            XCTAssertTrue(second.text.components(separatedBy: "\r\n").contains { $0.lowercased() == "last-event-id: 6" }, second.text)
            XCTAssertFalse(second.text.contains("since="), "Last-Event-ID replaces since")
            second.connection.send(head + sse(6) + "event: gap\ndata: {\"type\":\"gap\",\"dropped\":2}\n\n" + sse(9))
        }
        let items = try await value(of: consumer)
        XCTAssertEqual(offsets(items), [5, 6, 9])
        XCTAssertEqual(gaps(items), [SubscriptionGap(oldest: nil, dropped: 2)])
        await client.close()
        await server.stop()
    }

    func testOverHTTPAnErrorAnswerThrowsItsCode() async throws {
        let server = try await ScriptedServer.start(.http)
        let client = try await KernelClient.connect(.http(host: "127.0.0.1", port: server.port))
        let consumer = collect(client.subscribe(to: ["a.*"]), events: 1)
        try await withDeadline {
            var messages = server.messages.makeAsyncIterator()
            let first = try await messages.take()
            let body = #"{"error":{"code":"not_found","message":"no route for GET /events/stream","details":{}}}"#
            first.connection.send("HTTP/1.1 404 Not Found\r\ncontent-type: application/json\r\ncontent-length: \(body.utf8.count)\r\n\r\n" + body)
        }
        do {
            _ = try await value(of: consumer)
            XCTFail("no error")
        } catch let error as KernelClientError {
            XCTAssertEqual(error.code, "not_found")
        }
        await client.close()
        await server.stop()
    }
}

/// Server messages as the transport writes them.
private enum Wire {
    /// The item `json` as the transport sends it for subscription `id`.
    static func item(_ id: String, _ json: String) -> String {
        var buffer = ByteBuffer()
        ServerMessage.subscriptionItem(id: id, item: ByteBuffer(string: json), into: &buffer)
        return String(buffer: buffer)
    }

    static func event(_ id: String, _ offset: Int) -> String {
        Wire.item(id, #"{"type":"event","offset":\#(offset),"id":"e-\#(offset)","topic":"orders.created","#
            + #""createdAt":"2026-12-01T10:00:00.000Z","publisher":"orders","payload":{"n":\#(offset)},"context":{"user":"u1"}}"#)
    }

    static func subscribed(_ id: String, gap: Bool = false, oldest: Int = 1, head: Int = 0) -> String {
        Wire.item(id, #"{"type":"subscribed","gap":\#(gap),"oldest":\#(oldest),"head":\#(head)}"#)
    }
}

/// The connection of a subscription reads only as fast as the caller takes
/// items: a caller that stops holds the server's writes back.
final class SubscriptionBackpressureTests: XCTestCase {
    func testACallerThatStopsReadingHoldsTheServerBack() async throws {
        let server = try await ScriptedServer.start(.tcp)
        let client = try await KernelClient.connect(.tcp(host: "127.0.0.1", port: server.port))
        // 40 MB of events: more than the socket buffers and the client's bounded inbox together.
        let count = 4_000
        let pad = String(repeating: "x", count: 10_000)
        let (gate, open) = AsyncStream<Void>.makeStream()
        let consumer = Task {
            var offsets: [UInt64] = []
            var gates = gate.makeAsyncIterator()
            for try await case .event(let event) in client.subscribe(to: ["bulk"]) {
                offsets.append(event.offset)
                if offsets.count == 1 { await gates.next() }
                if offsets.count == count + 1 { break }
            }
            return offsets
        }
        let lastWrite: EventLoopFuture<Void> = try await withDeadline {
            var messages = server.messages.makeAsyncIterator()
            let first = try await messages.take()
            let id = first.rawID
            first.connection.send(Wire.event(id, 1))
            var last: EventLoopFuture<Void>?
            for offset in 2...(count + 1) {
                var buffer = ByteBuffer()
                let event = Wire.item(id, #"{"type":"event","offset":\#(offset),"id":"e","topic":"bulk","payload":{"pad":"\#(pad)"},"context":{}}"#)
                buffer.writeInteger(UInt32(event.utf8.count))
                buffer.writeString(event)
                last = first.connection.channel.writeAndFlush(buffer)
            }
            return last!
        }
        // While the caller waits, the last write cannot reach the socket (if it could, it would within this time).
        let written = Atomic<Bool>(false)
        lastWrite.whenComplete { _ in written.store(true, ordering: .relaxed) }
        try await Task.sleep(for: .milliseconds(500))
        XCTAssertFalse(written.load(ordering: .relaxed), "the client read everything while its caller took nothing")
        open.yield()
        let offsets = try await value(of: consumer, within: 30)
        XCTAssertEqual(offsets, Array(1...UInt64(count + 1)))
        try await lastWrite.get() // the caller read it all, so the socket took it
        await client.close()
        await server.stop()
    }
}
