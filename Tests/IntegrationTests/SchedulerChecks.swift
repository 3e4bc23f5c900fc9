import Foundation
import Glibc
import XCTest

/// Jobs: run, retried, snoozed, discarded, timed out, unique, limited by
/// their queue, and never lost by a crash or a reload (SchedulerTestCase.swift
/// has the helpers; schedules are in ScheduleChecks.swift).
// MARK: The checks

extension SchedulerTestCase {
    func checkEnqueuedJobRunsOnceAndCompletes() throws {
        let kernel = try startScheduler()
        let id = try XCTUnwrap(try enqueue(kernel, ["tag": "once"]).first)
        let job = try waitForJob(kernel, id, ["completed"])
        XCTAssertEqual(job["name"] as? String, "probe.record", "\(job)")
        XCTAssertEqual(job["queue"] as? String, "default", "\(job)")
        XCTAssertEqual(job.int("attempt"), 1, "\(job)")
        XCTAssertEqual(job["enqueued_by"] as? String, "jobprobe", "\(job)")
        XCTAssertNotNil(job["finished_at"] as? String, "\(job)")
        let runs = ProbeRun.all(kernel).filter { $0.id == id }
        XCTAssertEqual(runs.map(\.event), ["start", "done"], "exactly one run: \(runs)")
        XCTAssertEqual(runs.first?.attempt, 1)
        XCTAssertEqual(runs.first?.tag, "once")
        XCTAssertNil(runs.first?.schedule, "not fired by a schedule: \(runs)")

        // The simple form, `enqueue(name, payload, delay:)`, with and without a delay.
        let plain = try XCTUnwrap((try ok(kernel, "probe.enqueue_plain")["ids"] as? [NSNumber])?.first?.intValue)
        try waitForJob(kernel, plain, ["completed"])
        XCTAssertEqual(ProbeRun.all(kernel).filter { $0.id == plain }.map { "\($0.event) \($0.tag ?? "-")" }, ["start plain", "done plain"])
        let before = epochMilliseconds()
        let delayed = try XCTUnwrap((try ok(kernel, "probe.enqueue_plain", ["delay_ms": 400])["ids"] as? [NSNumber])?.first?.intValue)
        let waiting = try self.job(kernel, delayed)
        if epochMilliseconds() < before + 400 { // answered before its time: it cannot have been staged
            XCTAssertEqual(waiting["state"] as? String, "scheduled", "\(waiting)")
        }
        try waitForJob(kernel, delayed, ["completed"])
        let start = try XCTUnwrap(ProbeRun.all(kernel).first { $0.id == delayed && $0.isStart })
        XCTAssertGreaterThanOrEqual(start.at, before + 400, "a job delayed by 400 ms started after \(start.at - before) ms")
    }

    func checkRetriesWithBackoffThenDiscard() throws {
        let kernel = try startScheduler()
        let id = try XCTUnwrap(try enqueue(kernel, ["fail_until": 99], ["max_attempts": 3]).first)
        let job = try waitForJob(kernel, id, ["discarded"])
        let runs = ProbeRun.all(kernel).filter { $0.id == id }
        XCTAssertEqual(runs.filter(\.isStart).map(\.attempt), [1, 2, 3], "\(runs)")
        XCTAssertEqual(runs.filter(\.isDone).count, 0, "\(runs)")
        XCTAssertEqual(job.int("attempt"), 3, "\(job)")
        let errors = job["errors"] as? [[String: Any]] ?? []
        XCTAssertEqual(errors.compactMap { $0.int("attempt") }, [1, 2, 3], "\(job)")
        XCTAssertTrue((job["last_error"] as? String ?? "").contains("failing on purpose"), "\(job)")
        // backoff_base_ms = 100: attempt 2 waits base · (1 ± 10%), attempt 3 twice that.
        for (attempt, base) in [(2, Int64(100)), (3, Int64(200))] {
            guard errors.count >= attempt - 1, let failed = epochMilliseconds(errors[attempt - 2]["at"] as? String),
                  let started = runs.first(where: { $0.isStart && $0.attempt == attempt })?.at else {
                XCTFail("no failure time of attempt \(attempt - 1) or no start of attempt \(attempt): \(job) \(runs)")
                continue
            }
            XCTAssertGreaterThanOrEqual(started - failed, base * 9 / 10 - 5,
                                        "attempt \(attempt) started \(started - failed) ms after attempt \(attempt - 1) failed")
        }
    }

    func checkFlakyJobCompletesOnSecondAttempt() throws {
        let kernel = try startScheduler()
        let id = try XCTUnwrap(try enqueue(kernel, ["fail_until": 2]).first)
        let job = try waitForJob(kernel, id, ["completed"])
        XCTAssertEqual(job.int("attempt"), 2, "\(job)")
        XCTAssertEqual((job["errors"] as? [[String: Any]])?.compactMap { $0.int("attempt") }, [1], "\(job)")
        let runs = ProbeRun.all(kernel).filter { $0.id == id }
        XCTAssertEqual(runs.map { "\($0.event) \($0.attempt)" }, ["start 1", "start 2", "done 2"])
    }

    func checkTimeoutCancelsTheAttempt() throws {
        let kernel = try startScheduler()
        let enqueued = Date()
        let id = try XCTUnwrap(try enqueue(kernel, ["sleep_ms": 10_000], ["timeout_ms": 300, "max_attempts": 1]).first)
        let job = try waitForJob(kernel, id, ["discarded", "completed"], timeout: 15)
        let elapsed = Date().timeIntervalSince(enqueued)
        XCTAssertEqual(job["state"] as? String, "discarded", "\(job)")
        XCTAssertTrue((job["last_error"] as? String ?? "").contains("timed out"), "\(job)")
        XCTAssertLessThan(elapsed, 5, "a 300 ms timeout ended a 10 s attempt only after \(elapsed) s")
        XCTAssertEqual(ProbeRun.all(kernel).filter { $0.id == id && $0.isDone }.count, 0, "the handler ran to its end")
    }

    func checkSnoozeRunsAgainWithoutSpendingAnAttempt() throws {
        let kernel = try startScheduler()
        let id = try XCTUnwrap(try enqueue(kernel, ["snooze_ms": 300]).first)
        let job = try waitForJob(kernel, id, ["completed"])
        XCTAssertEqual(job.int("attempt"), 1, "a snooze does not spend the attempt: \(job)")
        XCTAssertEqual((job["errors"] as? [Any])?.count ?? 0, 0, "\(job)")
        let starts = ProbeRun.all(kernel).filter { $0.id == id && $0.isStart }
        XCTAssertEqual(starts.map(\.attempt), [1, 1], "\(starts)")
        if starts.count == 2 {
            XCTAssertGreaterThanOrEqual(starts[1].at - starts[0].at, 300, "snoozed 300 ms, ran again \(starts[1].at - starts[0].at) ms later")
        }
    }

    func checkDiscardStopsRetries() throws {
        let kernel = try startScheduler()
        let id = try XCTUnwrap(try enqueue(kernel, ["discard": true], ["max_attempts": 3]).first)
        let job = try waitForJob(kernel, id, ["discarded"])
        XCTAssertEqual(job.int("attempt"), 1, "\(job)")
        XCTAssertTrue((job["last_error"] as? String ?? "").contains("told to"), "\(job)")
        XCTAssertEqual((job["errors"] as? [Any])?.count, 1, "\(job)")
        // Nothing else runs it: the next rounds (100 ms polls) leave it alone.
        XCTAssertEqual(ProbeRun.all(kernel).filter { $0.id == id && $0.isStart }.count, 1)
    }

    func checkUniqueKeyRefusesASecondUnfinishedJob() throws {
        let kernel = try startScheduler()
        let options: [String: Any] = ["unique_key": "report:1", "delay_ms": 60_000]
        let first = try XCTUnwrap(try enqueue(kernel, ["tag": "u"], options).first)
        let count = try jobs(kernel).count
        let duplicate = try call(kernel, "probe.enqueue", options.merging(["payload": ["tag": "u2"]]) { $1 })
        XCTAssertEqual(duplicate.status, 409, duplicate.summary)
        XCTAssertEqual(duplicate.errorCode, "conflict", duplicate.summary)
        let details = (duplicate.json?["error"] as? [String: Any])?["details"] as? [String: Any]
        XCTAssertEqual(details?["job_id"] as? String, String(first), duplicate.summary)
        // The same through kernelctl: refused, naming the job that holds the key.
        let refused = try ctlFails(kernel, ["jobs", "enqueue", "probe.record", "{}", "--unique-key", "report:1"], code: "conflict")
        XCTAssertTrue(refused.contains(String(first)), refused)
        XCTAssertEqual(try jobs(kernel).count, count, "a refused duplicate left a job behind")

        let cancelled = try ctl(kernel, ["jobs", "cancel", String(first)])
        XCTAssertEqual(cancelled["state"] as? String, "cancelled", "\(cancelled)")
        let next = try XCTUnwrap(try enqueue(kernel, ["tag": "u3"], options).first)
        XCTAssertNotEqual(next, first)
        XCTAssertEqual(try jobs(kernel).count, count + 1)
    }

    func checkBadInputPersistsNothingAndSaysWhy() throws {
        let kernel = try startScheduler(extra: ["scheduler.max_payload_bytes=1024"])
        try enqueue(kernel, ["tag": "fine"], ["delay_ms": 60_000])
        let count = try jobs(kernel).count

        let unknownQueue = try call(kernel, "probe.enqueue", ["payload": [:], "queue": "nosuch"])
        XCTAssertEqual(unknownQueue.errorCode, "not_found", unknownQueue.summary)
        XCTAssertTrue(unknownQueue.text.contains("nosuch"), unknownQueue.summary)
        let negative = try call(kernel, "probe.enqueue", ["payload": [:], "delay_ms": -5])
        XCTAssertEqual(negative.errorCode, "invalid_argument", negative.summary)
        XCTAssertTrue(negative.text.contains("negative"), negative.summary)
        let large = try call(kernel, "probe.enqueue", ["payload": ["pad": String(repeating: "x", count: 2_000)]])
        XCTAssertEqual(large.errorCode, "too_large", large.summary)
        XCTAssertTrue(large.text.contains("1024"), large.summary)
        let unknownJob = try ctlFails(kernel, ["jobs", "enqueue", "nosuch"], code: "not_found")
        XCTAssertTrue(unknownJob.contains("nosuch"), unknownJob)
        let badPayload = try ctlFails(kernel, ["jobs", "enqueue", "probe.record", "{not json"], code: "invalid_argument")
        XCTAssertTrue(badPayload.contains("payload"), badPayload)
        XCTAssertEqual(try jobs(kernel).count, count, "a refused enqueue left a job behind")

        let badCron = try ctlFails(kernel, ["schedules", "add", "bad.cron", "61 * * * *", "probe.record"], code: "invalid_argument")
        XCTAssertTrue(badCron.contains("minute"), "the message names the field: \(badCron)")
        let badZone = try ctlFails(kernel, ["schedules", "add", "bad.zone", "@every 1s", "probe.record", "--tz", "Mars/Olympus"],
                                   code: "invalid_argument")
        XCTAssertTrue(badZone.contains("Mars/Olympus"), badZone)
        let badJob = try ctlFails(kernel, ["schedules", "add", "bad.job", "@every 1s", "nosuch"], code: "not_found")
        XCTAssertTrue(badJob.contains("nosuch"), badJob)
        let badQueue = try ctlFails(kernel, ["schedules", "add", "bad.queue", "@every 1s", "probe.record", "--queue", "nosuch"],
                                    code: "not_found")
        XCTAssertTrue(badQueue.contains("nosuch"), badQueue)
        let schedules = try ctl(kernel, ["schedules", "list"])["schedules"] as? [[String: Any]] ?? []
        XCTAssertEqual(schedules.compactMap { $0["name"] as? String }, [], "a refused schedule was kept")
        XCTAssertEqual(try jobs(kernel).count, count)
    }

    func checkQueueConcurrencyIsRespected() throws {
        let kernel = try startScheduler()
        let ids = try enqueue(kernel, ["sleep_ms": 300, "tag": "slow"], ["queue": "slow", "count": 6])
        XCTAssertEqual(ids.count, 6)
        let finished = waitUntil(timeout: 15) { Set(ProbeRun.all(kernel).filter(\.isDone).map(\.id)).isSuperset(of: ids) }
        XCTAssertTrue(finished, "not all 6 jobs ran: \(ProbeRun.all(kernel))")
        let runs = ProbeRun.all(kernel).filter { ids.contains($0.id) }
        XCTAssertEqual(ProbeRun.maxOverlap(runs), 2, "queue slow runs 2 at once: \(runs)")
    }

    func checkPauseAndResumeAQueueAcrossARestart() throws {
        let settings = try schedulerSettings()
        let first = try startScheduler(settings)
        let paused = try ctl(first, ["queues", "pause", "default"])
        XCTAssertEqual(paused["paused"] as? Bool, true, "\(paused)")
        let ids = try enqueue(first, ["tag": "paused"], ["count": 3])
        // Ten polls (100 ms each) go by: a paused queue starts nothing.
        Thread.sleep(forTimeInterval: 1)
        XCTAssertEqual(ProbeRun.all(first).filter { ids.contains($0.id) }.count, 0, "a job of a paused queue ran")
        let available = try jobs(first, ["--state", "available"]).compactMap { $0.int("id") }
        XCTAssertEqual(Set(available), Set(ids), "the paused jobs are available")

        let second = try restartScheduler(first, settings: settings)
        let queues = try ctl(second, ["queues", "list"])["queues"] as? [[String: Any]] ?? []
        let queue = queues.first { $0["name"] as? String == "default" }
        XCTAssertEqual(queue?["paused"] as? Bool, true, "the pause did not outlive the restart: \(queues)")
        XCTAssertEqual(queue?.int("available"), 3, "\(queues)")
        Thread.sleep(forTimeInterval: 0.5)
        XCTAssertEqual(ProbeRun.all(second).filter { ids.contains($0.id) }.count, 0, "a job of a paused queue ran after the restart")

        let resumed = try ctl(second, ["queues", "resume", "default"])
        XCTAssertEqual(resumed["paused"] as? Bool, false, "\(resumed)")
        for id in ids { try waitForJob(second, id, ["completed"]) }
        XCTAssertEqual(ProbeRun.all(second).filter { ids.contains($0.id) && $0.isDone }.count, 3)
    }

    /// The 15 jobs become due together after 1.5 s in which the queue was
    /// idle: a burst, after the limiter had time to fill up.
    func checkRateLimitOfAQueue() throws {
        let kernel = try startScheduler()
        let ids = try enqueue(kernel, ["tag": "limited"], ["queue": "limited", "count": 15, "delay_ms": 1500])
        let finished = waitUntil(timeout: 20) { ProbeRun.all(kernel).filter { ids.contains($0.id) && $0.isDone }.count == 15 }
        XCTAssertTrue(finished, "not all 15 jobs ran")
        let starts = ProbeRun.all(kernel).filter { ids.contains($0.id) && $0.isStart }.map(\.at).sorted()
        // `queue.limited.rate = 5`, "jobs started per second, at most": in any
        // second at most 5, plus one for a token that refilled at the window's edge.
        var most = 0
        for (index, start) in starts.enumerated() {
            most = max(most, starts[index...].prefix { $0 < start + 1000 }.count)
        }
        XCTAssertLessThanOrEqual(most, 6, "\(most) starts within one second at rate 5: \(starts.map { $0 - starts[0] })")
    }

    func checkKill9DuringARunLosesNoJob() throws {
        let settings = try schedulerSettings()
        let first = try startScheduler(settings)
        let ids = try enqueue(first, ["sleep_ms": 20, "tag": "bulk"], ["count": 300])
        XCTAssertEqual(ids.count, 300)
        let started = waitUntil(timeout: 30, interval: 0.01) { ProbeRun.all(first).filter(\.isDone).count >= 60 }
        XCTAssertTrue(started, "fewer than 60 jobs done in 30 s")
        let second = try restartScheduler(first, settings: settings, kill: true)
        let doneAtKill = Set(ProbeRun.all(first).filter(\.isDone).map(\.id))
        XCTAssertLessThan(doneAtKill.count, 300, "every job was done before the kill: nothing was tested")

        func doneCounts() -> [Int: Int] {
            var counts: [Int: Int] = [:]
            for run in ProbeRun.all(first) + ProbeRun.all(second) where run.isDone { counts[run.id, default: 0] += 1 }
            return counts
        }
        let all = waitUntil(timeout: 60) { Set(doneCounts().keys).isSuperset(of: ids) }
        XCTAssertTrue(all, "jobs never done: \(Set(ids).subtracting(doneCounts().keys).sorted())")
        let twice = doneCounts().filter { $0.value > 1 }.keys.sorted()
        XCTAssertLessThanOrEqual(twice.count, 10, "more jobs ran twice than were running at the kill: \(twice)")
        print("kill -9 after \(doneAtKill.count) of 300 jobs were done; \(twice.count) ran to their end twice")
        var last: [String: Int] = [:]
        let settled = try waitUntil(timeout: 10, interval: 0.2) {
            last = try states(second)
            return last["completed"] == 300
        }
        XCTAssertTrue(settled, "not every job ended completed: \(last)")
        XCTAssertEqual(last.filter { $0.key != "completed" && $0.value != 0 }, [:], "\(last)")
    }

    func checkTelemetryEvents() throws {
        let kernel = try startScheduler(extra: ["jobprobe.schedule_spec=@every 1s"])
        let good = try XCTUnwrap(try enqueue(kernel, ["tag": "good"]).first)
        let bad = try XCTUnwrap(try enqueue(kernel, ["fail_until": 99], ["max_attempts": 2]).first)
        try waitForJob(kernel, good, ["completed"])
        try waitForJob(kernel, bad, ["discarded"])
        var seen: [(topic: String, payload: [String: Any])] = []
        func of(_ topic: String, _ id: Int) -> [[String: Any]] {
            seen.filter { $0.topic == topic && $0.payload.int("job_id") == id }.map(\.payload)
        }
        let complete = try waitUntil(timeout: 5, interval: 0.1) {
            seen = try events(kernel)
            return of("job.succeeded", good).count == 1 && of("job.discarded", bad).count == 1
                && seen.contains { $0.topic == "schedule.fired" }
        }
        XCTAssertTrue(complete, "events missing: \(seen.map(\.topic))")

        XCTAssertEqual(of("job.started", good).count, 1)
        let succeeded = try XCTUnwrap(of("job.succeeded", good).first)
        XCTAssertEqual(succeeded["execution_id"] as? String, "\(good).1", "\(succeeded)")
        XCTAssertEqual(succeeded["name"] as? String, "probe.record", "\(succeeded)")
        XCTAssertEqual(succeeded["queue"] as? String, "default", "\(succeeded)")
        XCTAssertNotNil(succeeded["duration_ms"] as? NSNumber, "\(succeeded)")
        XCTAssertNil(succeeded["error"] as? String, "\(succeeded)")

        XCTAssertEqual(of("job.started", bad).compactMap { $0["execution_id"] as? String }, ["\(bad).1", "\(bad).2"])
        let failed = of("job.failed", bad)
        XCTAssertEqual(failed.compactMap { $0["execution_id"] as? String }, ["\(bad).1", "\(bad).2"], "\(failed)")
        for event in failed {
            XCTAssertTrue((event["error"] as? String ?? "").contains("failing on purpose"), "\(event)")
            XCTAssertNotNil(event["duration_ms"] as? NSNumber, "\(event)")
            XCTAssertEqual(event["name"] as? String, "probe.record", "\(event)")
        }
        let discarded = try XCTUnwrap(of("job.discarded", bad).first)
        XCTAssertEqual(discarded["execution_id"] as? String, "\(bad).2", "\(discarded)")
        XCTAssertTrue((discarded["error"] as? String ?? "").contains("failing on purpose"), "\(discarded)")

        let fire = try XCTUnwrap(seen.first { $0.topic == "schedule.fired" }?.payload)
        XCTAssertEqual(fire["schedule"] as? String, "probe.tick", "\(fire)")
        XCTAssertEqual(fire["job"] as? String, "probe.record", "\(fire)")
        XCTAssertNotNil(epochMilliseconds(fire["fire_at"] as? String), "\(fire)")
        let fireJob = try XCTUnwrap(fire.int("job_id"), "\(fire)")
        // The fired job's own events carry the schedule.
        let tickStarted = waitUntil(timeout: 5) {
            seen = (try? self.events(kernel)) ?? seen
            return of("job.started", fireJob).first?["schedule"] as? String == "probe.tick"
        }
        XCTAssertTrue(tickStarted, "job.started of the fired job \(fireJob) without schedule: \(of("job.started", fireJob))")
    }

    /// The jobs run on queue slow (2 at once), so that the queue is still
    /// busy when the new image takes over (on default, 100 jobs of 10 ms
    /// drain before the replaced file is even noticed).
    func checkReloadOfTheJobsPluginMidQueueLosesNothing() throws {
        let kernel = try startScheduler()
        let generation1 = try XCTUnwrap(try generation(kernel, "jobprobe"))
        let ids = try enqueue(kernel, ["sleep_ms": 10, "tag": "reload"], ["queue": "slow", "count": 100])
        XCTAssertEqual(ids.count, 100)
        func doneCounts() -> [Int: Int] {
            var counts: [Int: Int] = [:]
            for run in ProbeRun.all(kernel) where run.isDone { counts[run.id, default: 0] += 1 }
            return counts
        }
        XCTAssertTrue(waitUntil(timeout: 30, interval: 0.01) { doneCounts().count >= 20 }, "fewer than 20 jobs done in 30 s")
        try kernel.copyIntoPlugins(try Products.path("libjobprobe.so"), as: "libjobprobe.so")
        var doneAtReload = 0
        let reloaded = waitUntil(timeout: 15, interval: 0.01) {
            doneAtReload = doneCounts().count
            return ((try? generation(kernel, "jobprobe")) ?? nil).map { $0 > generation1 } ?? false
        }
        let reloadedAt = epochMilliseconds()
        XCTAssertTrue(reloaded, "jobprobe was not reloaded")
        XCTAssertLessThan(doneAtReload, 100, "the queue drained before the reload: nothing was tested")

        let all = waitUntil(timeout: 30) { Set(doneCounts().keys).isSuperset(of: ids) }
        XCTAssertTrue(all, "jobs never done: \(Set(ids).subtracting(doneCounts().keys).sorted())")
        XCTAssertTrue(ProbeRun.all(kernel).contains { $0.isStart && $0.at > reloadedAt }, "no job ran on the new image")
        let twice = doneCounts().filter { $0.value > 1 }.keys.sorted()
        XCTAssertLessThanOrEqual(twice.count, 2, "more jobs ran twice than were running at the reload (2): \(twice)")
        print("reload after \(doneAtReload) of 100 jobs were done; \(twice.count) ran to their end twice")
        var last: [String: Int] = [:]
        let settled = try waitUntil(timeout: 10, interval: 0.2) {
            last = try states(kernel)
            return last["completed"] == 100
        }
        XCTAssertTrue(settled, "not every job ended completed: \(last)")
    }

    /// A job whose plugin is not loaded when it is due waits for it, without
    /// spending attempts, and runs once the plugin is back.
    func checkJobWaitsForItsHandler() throws {
        let kernel = try startScheduler()
        let id = try XCTUnwrap(try enqueue(kernel, ["tag": "waiting"], ["delay_ms": 1000, "max_attempts": 1]).first)
        let unloaded = try kernelctl(kernel, ["unload", "jobprobe"])
        XCTAssertEqual(unloaded.status, 0, unloaded.stderr)
        // Due, and tried: no handler, so it waits with its attempt unspent.
        var waiting: [String: Any] = [:]
        let noticed = try waitUntil(timeout: 10, interval: 0.1) {
            waiting = try job(kernel, id)
            return (waiting["last_error"] as? String ?? "").contains("no handler")
        }
        XCTAssertTrue(noticed, "the job did not wait for its handler: \(waiting)")
        XCTAssertTrue(["available", "scheduled"].contains(waiting["state"] as? String ?? ""), "\(waiting)")
        XCTAssertEqual((waiting["attempt"] as? NSNumber)?.intValue, 0, "an attempt was spent without a handler: \(waiting)")
        let loaded = try kernelctl(kernel, ["load", kernel.pluginsDirectory + "/libjobprobe.so"])
        XCTAssertEqual(loaded.status, 0, loaded.stderr)
        let done = try waitForJob(kernel, id, ["completed"], timeout: 15)
        XCTAssertEqual((done["attempt"] as? NSNumber)?.intValue, 1, "\(done)")
        XCTAssertTrue(ProbeRun.all(kernel).contains { $0.isDone && $0.id == id }, "the job never ran")
    }
}
