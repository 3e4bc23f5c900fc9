import Foundation
import Glibc
import XCTest

/// The checks of the pubsub suite (PubsubTestCase), shared by both backends.
extension PubsubTestCase {
    enum FeedKind: String, CaseIterable {
        case ws, tcp, poll, sse
    }

    /// A subscription to `patterns` over `kind`, as `auth` (x-user, x-tenant, x-roles).
    func openFeed(_ kind: FeedKind, _ node: Node, patterns: [String], since: UInt64?, lastEventID: UInt64? = nil,
                  auth: [String: String] = [:], pollLimit: Int = 1000) throws -> EventFeed {
        let headers = auth.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        switch kind {
        case .ws: return try EnvelopeFeed(try WSTestClient(port: node.ws), patterns: patterns, since: since, meta: auth)
        case .tcp: return try EnvelopeFeed(try TCPTestClient(port: node.tcp), patterns: patterns, since: since, meta: auth)
        case .poll:
            return PollFeed(port: node.http, topics: patterns.joined(separator: ","), since: since ?? 0, limit: pollLimit, headers: headers)
        case .sse:
            return try SSEFeed(port: node.http, topics: patterns.joined(separator: ","), since: since.map(String.init),
                               lastEventID: lastEventID.map(String.init), headers: headers)
        }
    }

    /// The `subscribed` message of a feed that has one.
    private func subscribed(_ feed: EventFeed) -> [String: Any]? {
        (feed as? EnvelopeFeed)?.subscribed ?? (feed as? SSEFeed)?.subscribed
    }

    // MARK: 1. Catch-up, then live, across a reconnect

    /// Stored events first, then live ones while a publisher keeps going; the
    /// connection is dropped in the middle and the subscription resumed
    /// from the last offset received (SSE: `Last-Event-ID`, which wins over
    /// the query's `since`). Every acknowledged event arrives once, in
    /// offset order.
    func checkCatchUpThenLiveAcrossAReconnect() throws {
        let node = try startPubsub()
        for kind in FeedKind.allCases {
            let topic = "cl.\(kind.rawValue).made"
            var stored: [UInt64] = []
            for n in 0..<10 { stored.append(try published(node, topic, ["n": n])) }
            _ = try published(node, "cl.other.made", ["n": 0]) // another topic in between: not delivered

            let first = try openFeed(kind, node, patterns: [topic], since: 0, pollLimit: 4)
            if let subscribed = subscribed(first) {
                XCTAssertEqual(subscribed["gap"] as? Bool, false, "\(kind): \(subscribed)")
                XCTAssertGreaterThanOrEqual((subscribed["head"] as? NSNumber)?.uint64Value ?? 0, stored.last!, "\(kind): \(subscribed)")
                XCTAssertEqual((subscribed["oldest"] as? NSNumber)?.uint64Value, 1, "\(kind): \(subscribed)")
                if kind == .ws || kind == .tcp { XCTAssertEqual(subscribed["id"] as? String, "s", "\(kind): \(subscribed)") }
            }
            var received = try first.events(10).compactMap(\.offset)
            XCTAssertEqual(received, stored, "\(kind): the stored events, in order")

            let publisher = BackgroundPublisher(port: node.http, topic: topic, threads: 2, perThread: 40)
            received += try first.events(8).compactMap(\.offset)
            if let envelope = first as? EnvelopeFeed { envelope.drop() } else { first.close() } // the connection is lost
            let resumeAt = received.last!
            let second: EventFeed = kind == .sse
                ? try openFeed(.sse, node, patterns: [topic], since: 0, lastEventID: resumeAt)
                : try openFeed(kind, node, patterns: [topic], since: resumeAt, pollLimit: 4)
            let (live, refusals, finished) = publisher.finish()
            XCTAssertTrue(finished && refusals.isEmpty, "\(kind): publishes failed: \(refusals.prefix(3))")
            let expected = (stored + live).sorted()
            received += try second.events(through: expected.last!).compactMap(\.offset)
            XCTAssertEqual(received, expected, "\(kind): events lost, repeated or out of order across the reconnect at \(resumeAt)")

            if let envelope = second as? EnvelopeFeed {
                // unsubscribe: the subscription ends with `unsubscribed`; the connection goes on.
                try envelope.client.send(["type": "unsubscribe", "id": "s"])
                var last: [String: Any] = [:]
                repeat { last = try envelope.nextMessage() } while ["event", "events"].contains(last["type"] as? String ?? "")
                XCTAssertEqual(last["type"] as? String, "unsubscribed", "\(kind): \(last)")
                try envelope.client.send(["type": "ping", "id": "p"])
                XCTAssertEqual(try envelope.nextMessage()["type"] as? String, "pong", kind.rawValue)
            }
            if let poll = second as? PollFeed {
                XCTAssertGreaterThan(poll.polls, 3, "limit=4 should have paged")
            }
            second.close()
        }
    }

    /// A client that goes away ends its subscriptions: the subscriber
    /// leaves the hub at once, with no event needed to find out.
    func checkClosingTheConnectionEndsTheSubscription() throws {
        let node = try startPubsub()
        for kind in [FeedKind.ws, .tcp, .sse] {
            let before = try stats(node).int("subscribers") ?? 0
            let feed = try openFeed(kind, node, patterns: ["close.#"], since: nil)
            var subscribers: Int?
            XCTAssertTrue(try waitUntil(timeout: 5) {
                subscribers = try stats(node).int("subscribers")
                return subscribers == before + 1
            }, "\(kind): subscribers \(subscribers ?? -1) while subscribed, \(before) before")
            if let envelope = feed as? EnvelopeFeed { envelope.drop() } else { feed.close() }
            XCTAssertTrue(try waitUntil(timeout: 5) {
                subscribers = try stats(node).int("subscribers")
                return subscribers == before
            }, "\(kind): the subscription outlived its connection (subscribers \(subscribers ?? -1), \(before) before)")
        }
    }

    // MARK: 2. The gap flag

    /// Retention keeps the last 3 events of gap.#; a subscriber that asks
    /// for events after offset 1 learns that some are gone.
    func checkGapFlagAfterRetention() throws {
        let node = try startPubsub(extra: ["pubsub.retention=gap.#=1h/3", "pubsub.retention_interval_ms=200"])
        var offsets: [UInt64] = []
        for n in 0..<10 { offsets.append(try published(node, "gap.x", ["n": n])) }
        var kept: [UInt64] = []
        let trimmed = try waitUntil(timeout: 10, interval: 0.1) {
            kept = try storedEvents(node, topics: "gap.#").compactMap(\.offset)
            return kept.count <= 4
        }
        XCTAssertTrue(trimmed, "retention did not trim gap.# to 3 events: \(kept)")
        XCTAssertTrue([3, 4].contains(kept.count) && kept == Array(offsets.suffix(kept.count)), "kept \(kept) of \(offsets)")

        for kind in [FeedKind.ws, .tcp, .sse] {
            let feed = try openFeed(kind, node, patterns: ["gap.#"], since: 1)
            let subscribed = subscribed(feed) ?? [:]
            XCTAssertEqual(subscribed["gap"] as? Bool, true, "\(kind): \(subscribed)")
            let oldest = (subscribed["oldest"] as? NSNumber)?.uint64Value ?? 0
            XCTAssertGreaterThan(oldest, 2, "\(kind): \(subscribed)")
            XCTAssertEqual(oldest, kept.first, "\(kind): \(subscribed)")
            XCTAssertEqual((subscribed["head"] as? NSNumber)?.uint64Value, offsets.last, "\(kind): \(subscribed)")
            XCTAssertEqual(try feed.events(kept.count).compactMap(\.offset), kept, kind.rawValue)
            feed.close()
        }
        // Right after the last one removed: no gap.
        let exact = try openFeed(.ws, node, patterns: ["gap.#"], since: kept.first! - 1)
        XCTAssertEqual(subscribed(exact)?["gap"] as? Bool, false, "\(subscribed(exact) ?? [:])")
        exact.close()
    }

    /// The same, with an older event of another topic still kept: the
    /// subscriber of gap.# lost gap events all the same.
    func checkGapFlagWhenAnotherTopicKeepsAnOlderEvent() throws {
        let node = try startPubsub(extra: ["pubsub.retention=gap.#=1h/3,#=7d", "pubsub.retention_interval_ms=200"])
        let older = try published(node, "keep.x", ["n": 0])
        var offsets: [UInt64] = []
        for n in 0..<10 { offsets.append(try published(node, "gap.x", ["n": n])) }
        var kept: [UInt64] = []
        XCTAssertTrue(try waitUntil(timeout: 10, interval: 0.1) {
            kept = try storedEvents(node, topics: "gap.#").compactMap(\.offset)
            return kept.count <= 4
        }, "retention did not trim gap.#: \(kept)")
        XCTAssertEqual(try storedEvents(node, topics: "keep.#").compactMap(\.offset), [older])

        let feed = try openFeed(.ws, node, patterns: ["gap.#"], since: older)
        let subscribed = subscribed(feed) ?? [:]
        XCTAssertEqual(subscribed["gap"] as? Bool, true,
                       "gap.# events \(offsets.first!)…\(kept.first! - 1) after since=\(older) are gone, yet: \(subscribed)")
        XCTAssertEqual(try feed.events(kept.count).compactMap(\.offset), kept)
        feed.close()
    }

    // MARK: 3. Who sees what

    /// The default rule (tenant, user, admin role), the `secret.#` filter
    /// and the `locked.#` publish rule, over each protocol: a subscriber
    /// receives no byte of an event it may not see.
    func checkTenantUserAndFilterIsolation() throws {
        let node = try startPubsub()
        let tag = UUID().uuidString.prefix(8)
        let markers = ["tenant": "M-tenant-\(tag)", "user": "M-user-\(tag)", "secret": "M-secret-\(tag)"]
        // name, auth, the markers it sees
        let viewers: [(String, [String: String], Set<String>)] = [
            ("anonymous", [:], []),
            ("tenant a", ["x-tenant": "a"], ["tenant"]),
            ("tenant b", ["x-tenant": "b"], []),
            ("alice of a", ["x-tenant": "a", "x-user": "alice"], ["tenant", "user"]),
            ("bob of a", ["x-tenant": "a", "x-user": "bob"], ["tenant"]),
            ("admin bob of a", ["x-tenant": "a", "x-user": "bob", "x-roles": "admin"], ["tenant", "user"]),
            ("admin alice of b", ["x-tenant": "b", "x-user": "alice", "x-roles": "admin"], []),
            ("cleared", ["x-roles": "cleared"], ["secret"]),
            ("cleared of a", ["x-tenant": "a", "x-roles": "ops,cleared"], ["tenant", "secret"]),
        ]
        let start = try published(node, "iso.start")
        var feeds: [(FeedKind, String, Set<String>, EventFeed)] = []
        for kind in FeedKind.allCases {
            for (name, auth, sees) in viewers {
                feeds.append((kind, name, sees, try openFeed(kind, node, patterns: ["iso.#", "secret.#"], since: start, auth: auth)))
            }
        }
        defer { for feed in feeds { feed.3.close() } }

        // No auth on these publishes: the explicit context is taken as given.
        let tenantEvent = try published(node, "iso.note", ["marker": markers["tenant"]!], context: ["tenant": "a"])
        let userEvent = try published(node, "iso.note", ["marker": markers["user"]!], context: ["tenant": "a", "user": "alice"])
        let secretEvent = try published(node, "secret.plan", ["marker": markers["secret"]!])
        let fence = try published(node, "iso.fence", ["fence": true])
        let offsetOf = ["tenant": tenantEvent, "user": userEvent, "secret": secretEvent]

        for (kind, name, sees, feed) in feeds {
            let events = try feed.events(through: fence)
            let expected = sees.map { offsetOf[$0]! }.sorted() + [fence]
            XCTAssertEqual(events.compactMap(\.offset), expected, "\(kind) \(name)")
            for (key, marker) in markers {
                XCTAssertEqual(feed.received.contains(marker), sees.contains(key),
                               "\(kind) \(name): marker of the \(key) event \(sees.contains(key) ? "missing" : "leaked")")
            }
        }

        // Publish rule: locked.# is refused whoever publishes, and nothing is stored.
        let refused = try publish(node, "locked.door", ["open": true])
        XCTAssertEqual(refused.status, 403, refused.summary)
        XCTAssertEqual(refused.errorCode, "forbidden", refused.summary)
        let viaProbe = try HTTP.call(port: node.http, "probe.publish", #"{"topic":"locked.gate","payload":{}}"#)
        XCTAssertEqual(viaProbe.status, 403, viaProbe.summary)
        XCTAssertEqual(viaProbe.errorCode, "forbidden", viaProbe.summary)
        XCTAssertThrowsError(try adminCall(node, "pubsub.publish", ["topic": "locked.vault", "payload": [:]])) { error in
            XCTAssertEqual((error as? AdminError)?.code, "forbidden", "\(error)")
        }
        XCTAssertEqual(try storedEvents(node, topics: "locked.#").count, 0)
        XCTAssertEqual(try published(node, "unlocked.door"), fence + 1, "a refused publish took no offset")
    }

    // MARK: 4. Slow subscribers

    /// With a queue of 64 per subscriber: a reader that stops is cut off
    /// with `slow_consumer` (overflow disconnect) or told what it missed
    /// (overflow drop), while the publishes and a fast reader go on.
    func checkSlowConsumerIsCutOffAndTheRestGoOn() throws {
        let node = try startPubsub(extra: ["pubsub.subscriber_queue=64", "ws.stream_queue=2", "ws.send_buffer=16384"])
        let total = 3_000
        let slow = try EnvelopeFeed(try WSTestClient(port: node.ws, receiveBuffer: 4096), patterns: ["load.#"])
        let dropping = try EnvelopeFeed(try WSTestClient(port: node.ws, receiveBuffer: 4096), patterns: ["load.#"], overflow: "drop")
        let fast = try EnvelopeFeed(try WSTestClient(port: node.ws), patterns: ["load.#"])
        defer { for feed in [slow, dropping, fast] { feed.close() } }

        // The fast reader reads on its own thread while the events are published.
        final class Reading: @unchecked Sendable {
            var offsets: [UInt64] = []
            var error: Error?
            let done = DispatchSemaphore(value: 0)
        }
        let reading = Reading()
        nonisolated(unsafe) let fastFeed = fast
        Thread {
            do {
                for _ in 0..<total { reading.offsets.append(try fastFeed.nextEvent().offset ?? 0) }
            } catch {
                reading.error = error
            }
            reading.done.signal()
        }.start()

        let publisher = BackgroundPublisher(port: node.http, topic: "load.item", threads: 8, perThread: total / 8)
        let (offsets, refusals, finished) = publisher.finish(timeout: 120)
        XCTAssertTrue(finished, "the publishers did not finish")
        XCTAssertEqual(offsets.count, total, "every publish is acknowledged; refusals: \(refusals.prefix(3))")
        XCTAssertEqual(reading.done.wait(timeout: .now() + 30), .success, "the fast reader did not get \(total) events")
        XCTAssertNil(reading.error, "the fast reader's subscription ended: \(reading.error.map { "\($0)" } ?? "")")
        XCTAssertEqual(reading.offsets, offsets.sorted(), "the fast reader got every event, in order")

        // The slow reader: what the buffers held, then the error.
        var slowOffsets: [UInt64] = []
        var ending: [String: Any] = [:]
        do {
            while true { slowOffsets.append(try slow.nextEvent().offset ?? 0) }
        } catch let ended as SubscriptionEnded {
            ending = ended.message
        } catch {
            XCTFail("the slow reader got \(slowOffsets.count) events, then no end: \(error)")
        }
        XCTAssertEqual(ending["type"] as? String, "error", "\(ending)")
        XCTAssertEqual(ending.envelopeErrorCode, "unavailable", "\(ending)")
        XCTAssertEqual(((ending["error"] as? [String: Any])?["details"] as? [String: Any])?["reason"] as? String, "slow_consumer", "\(ending)")
        XCTAssertLessThan(slowOffsets.count, total, "the slow reader was never cut off")
        XCTAssertEqual(slowOffsets, slowOffsets.sorted(), "in order up to the cut")
        // The connection itself goes on.
        try slow.client.send(["type": "ping", "id": "p"])
        XCTAssertEqual(try slow.nextMessage()["type"] as? String, "pong")

        // The dropping reader: every event either arrives or is counted in a gap.
        var dropped: [UInt64] = []
        do {
            while dropped.count + dropping.gaps.reduce(0, +) < total {
                if let event = try dropping.nextEventOrGap() { dropped.append(event.offset ?? 0) }
            }
        } catch {
            XCTFail("the dropping reader got \(dropped.count) events (the last \(dropped.last ?? 0)) and gaps \(dropping.gaps), then: \(error)")
        }
        XCTAssertFalse(dropping.gaps.isEmpty, "overflow drop never sent a gap")
        XCTAssertEqual(dropped.count + dropping.gaps.reduce(0, +), total, "gaps \(dropping.gaps)")
        XCTAssertEqual(dropped, dropped.sorted())

        let stats = try stats(node)
        XCTAssertGreaterThanOrEqual(stats.int("disconnected") ?? 0, 1, "\(stats)")
        let ctl = try kernelctl(node.process, ["events", "stats", "--json"])
        XCTAssertEqual(ctl.status, 0, ctl.stderr)
        let ctlStats = PubsubWire.object(Array(ctl.stdout.utf8)) ?? [:]
        XCTAssertEqual(ctlStats.int("disconnected"), stats.int("disconnected"), "kernelctl events stats --json: \(ctl.stdout)")
        XCTAssertEqual(stats.int("dropped"), dropping.gaps.reduce(0, +), "\(stats)")
        XCTAssertGreaterThanOrEqual(stats.int("published") ?? 0, total, "\(stats)")
    }

    // MARK: 5. Durability

    /// Publishers keep going while the kernel is killed with SIGKILL: every
    /// publish that was acknowledged is in the log after a restart, and new
    /// offsets come after them.
    func checkKill9KeepsEveryAcknowledgedPublish() throws {
        let settings = try pubsubSettings()
        let first = try startPubsub(settings)
        let publisher = BackgroundPublisher(port: first.http, topic: "k9.event", threads: 8, perThread: nil)
        XCTAssertTrue(waitUntil(timeout: 60) { publisher.acknowledgedCount >= 500 }, "500 publishes were not acknowledged")
        Glibc.kill(first.process.pid, SIGKILL)
        XCTAssertTrue(waitUntil(timeout: 10) { !first.process.isRunning }, "the kernel survived SIGKILL")
        let (acknowledged, _, finished) = publisher.finish(stop: true)
        XCTAssertTrue(finished)
        XCTAssertGreaterThanOrEqual(acknowledged.count, 500)
        XCTAssertEqual(Set(acknowledged).count, acknowledged.count, "an offset was given twice")

        let second = try restartPubsub(first, settings: settings)
        let stored = try storedEvents(second, topics: "k9.#").compactMap(\.offset)
        XCTAssertEqual(stored, stored.sorted())
        let missing = Set(acknowledged).subtracting(stored)
        XCTAssertTrue(missing.isEmpty, "\(missing.count) acknowledged events were lost: \(missing.sorted().prefix(10))")
        let next = try published(second, "k9.after")
        XCTAssertGreaterThan(next, stored.max() ?? 0, "an offset was given again after the restart")
    }

    // MARK: 6. Durable consumers

    /// Killed mid-stream, the consumer resumes from its cursor after the
    /// restart: every event at least once, in offset order within a run,
    /// and the second run starts where the first one stopped.
    func checkDurableConsumerResumesAfterKill9() throws {
        let settings = try pubsubSettings()
        let first = try startPubsub(settings)
        var offsets: [UInt64] = []
        for n in 0..<30 { offsets.append(try published(first, "audit.slow", ["n": n, "sleepMs": 40])) }
        XCTAssertTrue(try waitUntil(timeout: 20) { try auditLines().count >= 5 }, "the consumer did not start")
        let second = try restartPubsub(first, settings: settings, kill: true)
        for n in 0..<5 { offsets.append(try published(second, "audit.after", ["n": n])) }
        let lines = try waitForAudit(of: offsets)

        let runs = runsInOrder(lines)
        XCTAssertEqual(runs.count, 2, "\(lines)")
        guard runs.count == 2 else { return }
        XCTAssertLessThan(Set(runs[0].map(\.offset)).count, 30, "the kill did not come mid-stream: \(runs[0])")
        for run in runs {
            XCTAssertEqual(run.map(\.offset), run.map(\.offset).sorted(), "deliveries of one run out of offset order: \(run)")
            XCTAssertTrue(run.allSatisfy { $0.attempt == 1 }, "nothing failed, yet: \(run)")
        }
        XCTAssertGreaterThanOrEqual(runs[1].first!.offset, runs[0].last!.offset,
                                    "the second run started before the first run's last delivery: \(runs[1].prefix(3)) after \(runs[0].suffix(3))")
        XCTAssertEqual(Set(lines.map(\.offset)), Set(offsets), "a delivery of an event that is not audit.#")
        var consumer: [String: Any]?
        XCTAssertTrue(try waitUntil(timeout: 10) {
            consumer = try auditConsumer(second)
            return (consumer?.int("cursor") ?? 0) >= Int(offsets.last!)
        }, "the consumer's cursor did not reach \(offsets.last!): \(consumer ?? [:])")
        XCTAssertEqual(consumer?.int("lag"), 0, "\(consumer ?? [:])")
        XCTAssertEqual(consumer?["owner"] as? String, "eventprobe")
    }

    /// A reload of the consumer's plugin continues from the cursor; with
    /// the plugin removed, events wait in the log and are delivered when it
    /// is back.
    func checkDurableConsumerAcrossReloadAndRemoval() throws {
        let node = try startPubsub()
        let build = try Products.path("libeventprobe.so")
        func generation() throws -> Int? { try node.process.adminResult("list").plugin(named: "eventprobe")?["generation"] as? Int }

        let before = try (0..<3).map { try published(node, "audit.before", ["n": $0]) }
        try waitForAudit(of: before)
        let generation1 = try generation() ?? 0
        try node.process.copyIntoPlugins(build, as: "libeventprobe.so")
        XCTAssertTrue(try waitUntil(timeout: 20) { try generation() ?? 0 > generation1 }, "eventprobe was not reloaded")

        let reloaded = try (0..<3).map { try published(node, "audit.reloaded", ["n": $0]) }
        var lines = try waitForAudit(of: reloaded)
        var runs = runsInOrder(lines)
        XCTAssertEqual(runs.count, 2, "\(lines)")
        if runs.count == 2 {
            XCTAssertEqual(runs[0].map(\.offset), before)
            XCTAssertGreaterThanOrEqual(runs[1].first!.offset, before.last!, "the reloaded consumer started over: \(runs[1])")
            XCTAssertEqual(Set(runs[1].map(\.offset)).subtracting([before.last!]), Set(reloaded))
        }

        // Removed: the consumer stops; events published meanwhile wait in the log.
        try node.process.removeFromPlugins("libeventprobe.so")
        XCTAssertTrue(try waitUntil(timeout: 20) { try node.process.adminResult("list").plugin(named: "eventprobe") == nil })
        XCTAssertTrue(try waitUntil(timeout: 10) { try auditConsumer(node) == nil }, "the consumer still runs without its plugin")
        let whileAway = try (0..<3).map { try published(node, "audit.away", ["n": $0]) }
        try node.process.copyIntoPlugins(build, as: "libeventprobe.so")
        lines = try waitForAudit(of: whileAway)
        runs = runsInOrder(lines)
        XCTAssertEqual(runs.count, 3, "\(lines)")
        if runs.count == 3 {
            XCTAssertGreaterThanOrEqual(runs[2].first!.offset, reloaded.last!, "the consumer started over: \(runs[2])")
            XCTAssertEqual(Set(runs[2].map(\.offset)).subtracting([reloaded.last!]), Set(whileAway))
            XCTAssertEqual(runs[2].map(\.offset), runs[2].map(\.offset).sorted())
        }
    }

    /// A delivery that fails is retried (up to 3 attempts); one that always
    /// fails is put aside as dead, and the next event is delivered after it.
    func checkDurableConsumerRetriesThenPutsAside() throws {
        let node = try startPubsub()
        let flaky = try published(node, "audit.flaky", ["failTimes": 2])
        let doomed = try published(node, "audit.doomed", ["fail": true])
        let fine = try published(node, "audit.fine", ["n": 1])
        let lines = try waitForAudit(of: [fine])
        XCTAssertEqual(lines.map(\.offset), [flaky, flaky, flaky, doomed, doomed, doomed, fine], "\(lines)")
        XCTAssertEqual(lines.map(\.attempt), [1, 2, 3, 1, 2, 3, 1], "\(lines)")

        var consumer: [String: Any]?
        XCTAssertTrue(try waitUntil(timeout: 10) {
            consumer = try auditConsumer(node)
            return (consumer?.int("cursor") ?? 0) >= Int(fine)
        }, "the cursor did not pass \(fine): \(consumer ?? [:])")
        XCTAssertEqual(consumer?.int("dead"), 1, "\(consumer ?? [:])")
        XCTAssertEqual(consumer?["pattern"] as? String, "audit.#")
    }

    /// A reload of the pubsub plugin itself: the consumer, the filter and
    /// the publish rule of eventprobe are registered again with the new
    /// version (the SDK listens for `kernel.plugin.reloaded`), and the
    /// consumer resumes from its cursor.
    func checkReloadOfPubsubKeepsConsumersFiltersAndRules() throws {
        let node = try startPubsub()
        let before = try published(node, "audit.before")
        try waitForAudit(of: [before])
        let secret = try published(node, "secret.one", ["n": 1])
        func generation() throws -> Int { try node.process.adminResult("list").plugin(named: "pubsub")?["generation"] as? Int ?? 0 }
        let generation1 = try generation()
        try node.process.copyIntoPlugins(try Products.path("libpubsub.so"), as: "libpubsub.so")
        XCTAssertTrue(try waitUntil(timeout: 30) { try generation() > generation1 }, "pubsub was not reloaded")
        XCTAssertTrue(try waitUntil(timeout: 10) { try auditConsumer(node) != nil }, "the consumer was not registered again")

        let after = try published(node, "audit.after")
        let lines = try waitForAudit(of: [after])
        XCTAssertEqual(lines.filter { $0.offset == before }.count, 1, "delivered again after the reload: \(lines)")
        XCTAssertEqual(Set(lines.map(\.run)).count, 1, "eventprobe itself was not reloaded: \(lines)")

        XCTAssertTrue(try waitUntil(timeout: 10) { try poll(node, "since=0&topics=secret.%23").events.isEmpty },
                      "the secret.# filter is gone after the reload")
        XCTAssertEqual(try poll(node, "since=0&topics=secret.%23", headers: [("X-Roles", "cleared")]).events.compactMap(\.offset), [secret])
        var refused: HTTPResponse?
        XCTAssertTrue(try waitUntil(timeout: 10) {
            refused = try publish(node, "locked.after")
            return refused?.status == 403
        }, "the locked.# publish rule is gone after the reload: \(refused?.summary ?? "")")
    }

    /// A consumer registered after events were stored, starting at the
    /// oldest, gets them all, in order.
    func checkNewConsumerStartsAtTheOldestEvent() throws {
        let settings = try pubsubSettings()
        let node = try startPubsub(settings, plugins: Self.pubsubPlugins.filter { $0 != "libeventprobe.so" })
        let stored = try (0..<4).map { try published(node, "audit.early", ["n": $0]) }
        try node.process.copyIntoPlugins(try Products.path("libeventprobe.so"), as: "libeventprobe.so")
        let lines = try waitForAudit(of: stored)
        XCTAssertEqual(lines.map(\.offset), stored, "\(lines)")
    }

    /// Filters narrow what durable consumers see too (kn_subscriber with
    /// protocol "consumer"): eventprobe's filter keeps `audit.hidden.#`
    /// from every consumer, not from remote subscribers.
    func checkFiltersApplyToDurableConsumers() throws {
        let node = try startPubsub()
        let hidden = try published(node, "audit.hidden.x", ["n": 1])
        let shown = try published(node, "audit.shown", ["n": 2])
        let lines = try waitForAudit(of: [shown])
        XCTAssertFalse(lines.contains { $0.offset == hidden }, "a filter that refuses consumers did not apply to probe.audit: \(lines)")
        XCTAssertEqual(try storedEvents(node, topics: "audit.#").compactMap(\.offset), [hidden, shown], "remote subscribers see both")
    }

    // MARK: 7. Malformed subscriptions

    /// Bad patterns and fields are refused with `invalid_argument`; the
    /// connection and the kernel go on.
    func checkMalformedSubscribeIsRefusedAndTheConnectionGoesOn() throws {
        let node = try startPubsub()
        let cases: [(String, [String: Any])] = [
            ("empty segment", ["patterns": ["orders..x"]]),
            ("# in the middle", ["patterns": ["a.#.b"]]),
            ("wildcard inside a segment", ["patterns": ["orders.x*"]]),
            ("no pattern", ["patterns": [String]()]),
            ("a pattern not a string", ["patterns": [1]]),
            ("patterns not an array", ["patterns": "orders.*"]),
            ("no patterns field", [:]),
            ("since an object", ["patterns": ["orders.*"], "since": ["at": 1]]),
            ("since neither offset nor time", ["patterns": ["orders.*"], "since": "yesterday"]),
            ("overflow unknown", ["patterns": ["orders.*"], "overflow": "sometimes"]),
            ("overflow not a string", ["patterns": ["orders.*"], "overflow": 3]),
            ("meta not strings", ["patterns": ["orders.*"], "meta": ["x-tenant": 5]]),
        ]
        for (name, client) in [("ws", try WSTestClient(port: node.ws) as RawEnvelopeClient),
                               ("tcp", try TCPTestClient(port: node.tcp) as RawEnvelopeClient)] {
            defer { client.close() }
            for (index, (what, fields)) in cases.enumerated() {
                var message = fields
                message["type"] = "subscribe"
                message["id"] = "bad\(index)"
                try client.send(message)
                let answer = try client.readMessage()
                XCTAssertEqual(answer["type"] as? String, "error", "\(name), \(what): \(answer)")
                XCTAssertEqual(answer["id"] as? String, "bad\(index)", "\(name), \(what): \(answer)")
                XCTAssertEqual(answer.envelopeErrorCode, "invalid_argument", "\(name), \(what): \(answer)")
                try client.send(["type": "ping", "id": "ping\(index)"])
                let pong = try client.readMessage()
                XCTAssertEqual(pong["type"] as? String, "pong", "\(name), after \(what): \(pong)")
                XCTAssertEqual(pong["id"] as? String, "ping\(index)", "\(name), after \(what): \(pong)")
            }
            // unsubscribe of no subscription
            try client.send(["type": "unsubscribe", "id": "nothing"])
            XCTAssertEqual(try client.readMessage().envelopeErrorCode, "not_found", name)

            // The same connection still subscribes.
            let feed = try EnvelopeFeed(client, id: "good", patterns: ["mal.\(name).#"])
            let offset = try published(node, "mal.\(name).x")
            XCTAssertEqual(try feed.nextEvent().offset, offset, name)
            feed.close()
        }

        for query in ["topics=a..b", "topics=a.%23.b", "topics=", "since=yesterday", "topics=a.*&wait=soon"] {
            let response = try HTTP.request(port: node.http, "GET", "/events?" + query)
            XCTAssertEqual(response.status, 400, "GET /events?\(query): \(response.summary)")
            XCTAssertEqual(response.errorCode, "invalid_argument", "GET /events?\(query): \(response.summary)")
        }
        // Waits too large to count in milliseconds are the longest wait, not an arithmetic trap that ends the kernel.
        let head = try published(node, "mal.huge.x")
        for wait in ["9999999999999999", "999999999999999999d"] {
            let response = try HTTP.request(port: node.http, "GET", "/events?topics=mal.huge.%23&since=\(head - 1)&wait=\(wait)")
            XCTAssertEqual(response.status, 200, "wait=\(wait): \(response.summary)")
            XCTAssertTrue(node.process.isRunning, "wait=\(wait) ended the kernel")
        }
        let stream = try HTTP.request(port: node.http, "GET", "/events/stream?topics=a.%23.b", headers: [("Accept", "text/event-stream")])
        XCTAssertEqual(stream.status, 400, stream.summary)
        let notJSON = try HTTP.request(port: node.http, "POST", "/events", headers: [("Content-Type", "application/json")],
                                       body: Array(#"{"payload":{}}"#.utf8))
        XCTAssertEqual(notJSON.status, 400, "a publish without a topic: \(notJSON.summary)")
        let badTopic = try publish(node, "orders.*")
        XCTAssertEqual(badTopic.status, 400, "a wildcard topic: \(badTopic.summary)")
        XCTAssertNotNil(try node.process.adminResult("list").plugin(named: "pubsub"))
    }

    // MARK: 8. Context

    /// An event published for a request carries its `auth.*` and request
    /// id; handlers (`kernel.on`) see the offset and the context; an
    /// explicit context is taken only without authentication or from an
    /// operator.
    func checkEventContextReachesTheLogAndTheHandlers() throws {
        let node = try startPubsub()
        let auth = [("X-User", "u1"), ("X-Tenant", "t1")]

        // probe.publish: kernel.publish(_:_:for: request)
        let response = try HTTP.call(port: node.http, "probe.publish", #"{"topic":"orders.created","payload":{"order":7}}"#,
                                     headers: auth)
        XCTAssertEqual(response.status, 200, response.summary)
        let offset = PubsubWire.offset(response) ?? 0
        XCTAssertGreaterThan(offset, 0, response.summary)
        let stored = try poll(node, "since=\(offset - 1)&topics=orders.%23&limit=1", headers: auth).events.first ?? [:]
        XCTAssertEqual(stored.offset, offset, "\(stored)")
        XCTAssertEqual(stored["topic"] as? String, "orders.created")
        XCTAssertEqual(stored["publisher"] as? String, "eventprobe")
        XCTAssertEqual((stored["payload"] as? [String: Any])?["order"] as? Int, 7, "\(stored)")
        XCTAssertEqual(stored.context["user"] as? String, "u1", "\(stored)")
        XCTAssertEqual(stored.context["tenant"] as? String, "t1", "\(stored)")
        XCTAssertFalse((stored.context["requestId"] as? String ?? "").isEmpty, "the request's id: \(stored)")
        XCTAssertNotNil(epochMilliseconds(stored["createdAt"] as? String), "\(stored)")
        XCTAssertFalse((stored["id"] as? String ?? "").isEmpty, "\(stored)")

        // POST /events with authentication: the explicit user and tenant are ignored, its headers kept.
        let authenticated = try published(node, "orders.shipped", ["order": 8],
                                          context: ["tenant": "t2", "user": "mallory", "requestId": "req-78", "headers": ["k": "v"]],
                                          headers: [("X-Tenant", "t1")])
        let shipped = try poll(node, "since=\(authenticated - 1)&topics=orders.%23&limit=1", headers: [("X-Tenant", "t1")]).events.first ?? [:]
        XCTAssertEqual(shipped.offset, authenticated, "\(shipped)")
        XCTAssertEqual(shipped.context["tenant"] as? String, "t1", "an authenticated caller chose another tenant: \(shipped)")
        XCTAssertNil(shipped.context["user"], "an authenticated caller chose a user: \(shipped)")
        XCTAssertEqual(shipped.context["requestId"] as? String, "req-78", "\(shipped)")
        XCTAssertEqual(shipped.context["headers"] as? [String: String], ["k": "v"], "\(shipped)")

        // Without authentication, and from the admin socket, the explicit context is the event's.
        let anonymous = try published(node, "orders.paid", ["order": 9], context: ["tenant": "t3", "user": "carol"])
        let admin = try adminCall(node, "pubsub.publish", ["topic": "orders.refunded", "payload": ["order": 10],
                                                           "context": ["tenant": "t4", "user": "dave"]])
        let adminOffset = admin.int("offset").map(UInt64.init) ?? 0
        XCTAssertGreaterThan(adminOffset, anonymous, "\(admin)")
        for (at, tenant, user) in [(anonymous, "t3", "carol"), (adminOffset, "t4", "dave")] {
            let event = try poll(node, "since=\(at - 1)&topics=orders.%23&limit=1",
                                 headers: [("X-Tenant", tenant), ("X-User", user)]).events.first ?? [:]
            XCTAssertEqual(event.offset, at, "\(event)")
            XCTAssertEqual(event.context["tenant"] as? String, tenant, "\(event)")
            XCTAssertEqual(event.context["user"] as? String, user, "\(event)")
            XCTAssertEqual(event["publisher"] as? String, "pubsub", "a remote publish: \(event)")
        }

        // The orders.# handler saw each with its offset and context.
        var lines: [OrdersLine] = []
        XCTAssertTrue(try waitUntil(timeout: 10) {
            lines = try ordersLines()
            return lines.count >= 4
        }, "the orders.# handler saw \(lines.count) events")
        let seen = Dictionary(lines.map { ($0.offset, $0) }, uniquingKeysWith: { first, _ in first })
        XCTAssertEqual(lines.count, 4, "each event once")
        XCTAssertEqual(seen[offset].map { [$0.tenant, $0.user] }, ["t1", "u1"])
        XCTAssertEqual(seen[offset]?.publisher, "eventprobe")
        XCTAssertEqual(seen[authenticated].map { [$0.tenant, $0.user] }, ["t1", nil])
        XCTAssertEqual(seen[anonymous].map { [$0.tenant, $0.user] }, ["t3", "carol"])
        XCTAssertEqual(seen[adminOffset].map { [$0.tenant, $0.user] }, ["t4", "dave"])
        XCTAssertEqual(lines.map(\.offset), [offset, authenticated, anonymous, adminOffset], "in publish order")

        // The operator endpoints answer the admin socket only.
        for endpoint in ["pubsub.stats", "pubsub.topics"] {
            let refused = try HTTP.call(port: node.http, endpoint, headers: [("X-Roles", "admin")])
            XCTAssertEqual(refused.status, 403, "\(endpoint) over HTTP: \(refused.summary)")
        }
        let topics = try adminCall(node, "pubsub.topics")["topics"] as? [[String: Any]] ?? []
        let created = topics.first { $0["topic"] as? String == "orders.created" }
        XCTAssertEqual(created?.int("events"), 1, "\(topics)")
        XCTAssertEqual(created?.int("firstOffset"), Int(offset), "\(topics)")
        XCTAssertEqual(Set(topics.compactMap { $0["topic"] as? String }),
                       ["orders.created", "orders.shipped", "orders.paid", "orders.refunded"], "\(topics)")
    }

    // MARK: 9. ABI 1.0

    /// A plugin built against ABI 1.0 publishes with host->publish while
    /// pubsub is loaded: its own handler still counts the event, and the
    /// event is in the log.
    func checkABI10PluginPublishesThroughPubsub() throws {
        let kernel = try startKernel(plugins: ["libhttp.so", "libstorage.so", "libpubsub.so"], settings: try backendSettings())
        let fixtures = Products.repositoryRoot + "/Tests/Fixtures/abi-1.0"
        let output = kernel.buildDirectory + "/liblegacy.so"
        let built = try runProgram("/usr/bin/env", ["cc", "-std=c99", "-Wall", "-Wextra", "-Werror", "-shared", "-fPIC",
                                                    "-I", fixtures, "-o", output, fixtures + "/legacy.c"],
                                   workDirectory: kernel.buildDirectory, timeout: 120)
        XCTAssertEqual(built.status, 0, built.stderr)
        try kernel.renameIntoPlugins(output, as: "liblegacy.so")
        waitForCall(kernel, "legacy.echo", #"{"say":"hi"}"#, status: 200)

        let trigger = try HTTP.call(port: kernel.httpPort, "legacy.trigger")
        XCTAssertEqual(trigger.status, 200, trigger.summary)
        var stats: [String: Any] = [:]
        XCTAssertTrue(waitUntil(timeout: 10) {
            stats = (try? HTTP.call(port: kernel.httpPort, "legacy.stats", timeout: 5).json) ?? [:]
            return (stats["events"] as? Int ?? 0) >= 1 && (stats["jobs"] as? Int ?? 0) >= 1
        }, "the 1.0 plugin's handler and job did not both run: \(stats)")
        XCTAssertEqual(stats["events"] as? Int, 1, "\(stats)")

        let response = try HTTP.request(port: kernel.httpPort, "GET", "/events?since=0&topics=legacy.%23")
        XCTAssertEqual(response.status, 200, response.summary)
        let events = (try? JSONSerialization.jsonObject(with: Data(response.body))) as? [[String: Any]] ?? []
        XCTAssertEqual(events.count, 1, response.summary)
        XCTAssertEqual(events.first?["topic"] as? String, "legacy.ping", response.summary)
        XCTAssertEqual(events.first?["publisher"] as? String, "legacy", response.summary)
        XCTAssertGreaterThan(events.first?.offset ?? 0, 0, response.summary)
    }

    // MARK: Helpers

    /// Audit lines grouped by run, runs in the order they first appear.
    func runsInOrder(_ lines: [AuditLine]) -> [[AuditLine]] {
        var order: [String] = []
        var byRun: [String: [AuditLine]] = [:]
        for line in lines {
            if byRun[line.run] == nil { order.append(line.run) }
            byRun[line.run, default: []].append(line)
        }
        return order.map { byRun[$0]! }
    }
}
