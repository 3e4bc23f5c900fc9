import Foundation
import XCTest

/// Schedules: declared in code or added by an operator, fired with their
/// overlap and misfire policies, changed with kernelctl and kept across
/// restarts. Every fire of the probe's schedule is a `tick` line of runs.log.
extension SchedulerTestCase {
    func checkScheduleDeclaredInCodeFiresAndCanBeDisabled() throws {
        let settings = try schedulerSettings(["jobprobe.schedule_spec=@every 1s"])
        let first = try startScheduler(settings)
        func ticks(_ kernel: KernelProcess) -> [ProbeRun] { ProbeRun.all(kernel).filter { $0.isStart && $0.tag == "tick" } }
        let fired = waitUntil(timeout: 8) { Set(ticks(first).compactMap(\.fireAt)).count >= 3 }
        XCTAssertTrue(fired, "fewer than 3 fires in 8 s: \(ticks(first))")
        for tick in ticks(first) {
            XCTAssertEqual(tick.schedule, "probe.tick", "\(tick)")
            XCTAssertNotNil(epochMilliseconds(tick.fireAt), "job.fire_at is not an ISO-8601 time: \(tick)")
        }
        let listed = try XCTUnwrap(try schedule(first, "probe.tick"))
        XCTAssertEqual(listed["source"] as? String, "code", "\(listed)")
        XCTAssertEqual(listed["owner"] as? String, "jobprobe", "\(listed)")
        XCTAssertEqual(listed["enabled"] as? Bool, true, "\(listed)")
        XCTAssertNotNil(listed["next_fire"] as? String, "\(listed)")
        XCTAssertNotNil(listed["last_outcome"] as? String, "\(listed)")

        let disabled = try ctl(first, ["schedules", "disable", "probe.tick"])
        let disabledAt = epochMilliseconds()
        XCTAssertEqual(disabled["enabled"] as? Bool, false, "\(disabled)")
        Thread.sleep(forTimeInterval: 2.5)
        let late = ticks(first).filter { (epochMilliseconds($0.fireAt) ?? 0) > disabledAt }
        XCTAssertEqual(late.map(\.description), [], "a disabled schedule fired")

        let second = try restartScheduler(first, settings: settings)
        let restarted = try XCTUnwrap(try schedule(second, "probe.tick"))
        XCTAssertEqual(restarted["enabled"] as? Bool, false, "disabled did not outlive the restart: \(restarted)")
        XCTAssertNil(restarted["next_fire"] as? String, "\(restarted)")
        Thread.sleep(forTimeInterval: 1.5)
        XCTAssertEqual(ticks(second).map(\.description), [], "a disabled schedule fired after the restart")

        let enabledAt = epochMilliseconds()
        let enabled = try ctl(second, ["schedules", "enable", "probe.tick"])
        XCTAssertEqual(enabled["enabled"] as? Bool, true, "\(enabled)")
        let again = waitUntil(timeout: 5) { ticks(second).contains { (epochMilliseconds($0.fireAt) ?? 0) >= enabledAt } }
        XCTAssertTrue(again, "no fire after enable: \(ticks(second))")
    }

    func checkOverlapSkipSkipsFiresWhileARunIsUnfinished() throws {
        let kernel = try startScheduler(extra: ["jobprobe.schedule_spec=@every 1s", "jobprobe.schedule_sleep_ms=2500"])
        func ticks() -> [ProbeRun] { ProbeRun.all(kernel).filter { $0.tag == "tick" } }
        var history: [[String: Any]] = []
        let seen = try waitUntil(timeout: 12, interval: 0.2) {
            history = try fires(kernel, "probe.tick")
            return ticks().filter(\.isStart).count >= 2 && history.contains { $0["outcome"] as? String == "skipped" }
        }
        XCTAssertTrue(seen, "no skipped fire and second run within 12 s: \(history) \(ticks())")
        for fire in history {
            switch fire["outcome"] as? String {
            case "skipped": XCTAssertNil(fire["job_id"] as? NSNumber, "a skipped fire has no job: \(fire)")
            case "enqueued": XCTAssertNotNil(fire["job_id"] as? NSNumber, "an enqueued fire names its job: \(fire)")
            default: XCTFail("unexpected fire: \(fire)")
            }
        }
        XCTAssertEqual(ProbeRun.maxOverlap(ticks()), 1, "two ticks ran at once: \(ticks())")
    }

    func checkOperatorScheduleAddRunHistoryRemove() throws {
        // A code-declared schedule that does not fire during the test, to be refused removal.
        let kernel = try startScheduler(extra: ["jobprobe.schedule_spec=0 0 1 1 *"])
        func runs() -> [ProbeRun] { ProbeRun.all(kernel).filter { $0.tag == "op" } }
        let added = try ctl(kernel, ["schedules", "add", "op.every", "@every 1s", "probe.record", #"{"tag":"op"}"#])
        XCTAssertEqual(added["source"] as? String, "operator", "\(added)")
        XCTAssertEqual(added["enabled"] as? Bool, true, "\(added)")
        let fired = waitUntil(timeout: 5) { runs().contains { $0.isDone && $0.schedule == "op.every" } }
        XCTAssertTrue(fired, "the operator's schedule did not fire: \(ProbeRun.all(kernel))")

        // `run` fires at once: the fire is recorded, with its job, when the command returns.
        let before = epochMilliseconds()
        try ctl(kernel, ["schedules", "run", "op.every"])
        let after = epochMilliseconds()
        let history = try fires(kernel, "op.every")
        let manual = history.first { (epochMilliseconds($0["fire_at"] as? String) ?? 0) >= before && (epochMilliseconds($0["fire_at"] as? String) ?? .max) <= after }
        let manualJob = try XCTUnwrap((manual?["job_id"] as? NSNumber)?.intValue, "no fire between \(before) and \(after): \(history)")
        try waitForJob(kernel, manualJob, ["completed"])
        XCTAssertGreaterThanOrEqual(history.count, 2, "\(history)")
        for fire in history {
            XCTAssertEqual(fire["outcome"] as? String, "enqueued", "\(fire)")
            XCTAssertNotNil(fire["job_id"] as? NSNumber, "\(fire)")
        }
        let ranJobs = Set(runs().map(\.id))
        let firedJobs = history.compactMap { ($0["job_id"] as? NSNumber)?.intValue }
        XCTAssertTrue(firedJobs.contains { ranJobs.contains($0) }, "the history's jobs \(firedJobs) are not the runs \(ranJobs)")

        let removed = try ctl(kernel, ["schedules", "remove", "op.every"])
        let removedAt = epochMilliseconds()
        XCTAssertEqual(removed["removed"] as? String, "op.every", "\(removed)")
        XCTAssertNil(try schedule(kernel, "op.every"))
        Thread.sleep(forTimeInterval: 1.5)
        let late = runs().filter { $0.isStart && (epochMilliseconds($0.fireAt) ?? 0) > removedAt }
        XCTAssertEqual(late.map(\.description), [], "a removed schedule fired")

        let refused = try ctlFails(kernel, ["schedules", "remove", "probe.tick"], code: "conflict")
        XCTAssertTrue(refused.contains("jobprobe"), refused)
        XCTAssertNotNil(try schedule(kernel, "probe.tick"), "the declared schedule is gone")
    }

    /// The expected values are cronsim 2.8's (`python3 -c "import cronsim ..."`):
    /// 02:30 does not exist on 2026-03-29 in Berlin (clocks go 02:00 → 03:00),
    /// and that day's fire runs at 03:00 CEST.
    func checkNextFireTimesAcrossDaylightSaving() throws {
        let kernel = try startScheduler()
        let result = try kernelctl(kernel, ["schedules", "next", "30 2 * * *", "--tz", "Europe/Berlin",
                                            "--from", "2026-03-28T12:00:00+01:00", "--count", "3", "--json"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(result.stdout.filter { !$0.isWhitespace },
                       #"{"next":["2026-03-29T03:00:00+02:00","2026-03-30T02:30:00+02:00","2026-03-31T02:30:00+02:00"]}"#)
    }

    func checkOverlapReplaceCancelsTheRunningFire() throws {
        let kernel = try startScheduler(extra: ["jobprobe.schedule_spec=@every 1s", "jobprobe.schedule_sleep_ms=5000",
                                                "jobprobe.schedule_overlap=replace"])
        var cancelled: [[String: Any]] = []
        let seen = try waitUntil(timeout: 12, interval: 0.2) {
            cancelled = try jobs(kernel, ["--state", "cancelled"])
            return cancelled.count >= 2
        }
        XCTAssertTrue(seen, "fewer than 2 replaced runs in 12 s: \(cancelled)")
        let runs = ProbeRun.all(kernel).filter { $0.tag == "tick" }
        for job in cancelled {
            XCTAssertEqual(job["schedule"] as? String, "probe.tick", "\(job)")
            XCTAssertTrue((job["last_error"] as? String ?? "").contains("replaced"), "\(job)")
            // Cancelled in its 5 s sleep: the handler heard it and never finished.
            let id = (job["id"] as? NSNumber)?.intValue ?? -1
            XCTAssertFalse(runs.contains { $0.isDone && $0.id == id }, "replaced job \(id) ran to its end: \(runs)")
        }
    }

    /// queue_one: a fire that finds the last run going waits for it and
    /// starts as it ends (skip would wait for the next fire, 0.8 s later).
    func checkOverlapQueueOneRunsTheWaitingFireAfterTheRunningOne() throws {
        let kernel = try startScheduler(extra: ["jobprobe.schedule_spec=@every 1s", "jobprobe.schedule_sleep_ms=1200",
                                                "jobprobe.schedule_overlap=queue_one"])
        func ticks() -> [ProbeRun] { ProbeRun.all(kernel).filter { $0.tag == "tick" } }
        XCTAssertTrue(waitUntil(timeout: 15, interval: 0.2) { ticks().filter(\.isDone).count >= 4 }, "\(ticks())")
        let runs = ticks()
        XCTAssertEqual(ProbeRun.maxOverlap(runs), 1, "two ticks ran at once: \(runs)")
        let starts = runs.filter(\.isStart).sorted { $0.at < $1.at }
        let ends = runs.filter(\.isDone).sorted { $0.at < $1.at }
        for (end, next) in zip(ends, starts.dropFirst()) {
            XCTAssertLessThan(next.at - end.at, 500, "the queued fire did not start as the run before it ended: \(runs)")
        }
    }

    /// After downtime, skip fires none of the missed times, run_once the
    /// latest, run_all each of them. Seen in the ticks that ran, across both
    /// kernels: run_all leaves no gap in the fire times; the others leave one,
    /// and report the fires they did not run (`schedule.missed`), run_once
    /// having run the latest of them.
    func checkMisfirePolicyAfterDowntime(_ policy: String) throws {
        // Overlap allow: a tick interrupted by the stop (retried after it) must not turn a catch-up into an overlap skip.
        let settings = try schedulerSettings(["jobprobe.schedule_spec=@every 1s", "jobprobe.schedule_misfire=\(policy)",
                                              "jobprobe.schedule_overlap=allow"])
        let first = try startScheduler(settings)
        XCTAssertTrue(waitUntil(timeout: 8) { ProbeRun.all(first).contains { $0.isDone && $0.tag == "tick" } })
        first.stop()
        let before = ProbeRun.all(first)
        Thread.sleep(forTimeInterval: 3.5) // the downtime: fires at least three times missed
        let second = try restartScheduler(first, settings: settings)
        func ran() -> [Int64] {
            Set((before + ProbeRun.all(second)).filter { $0.isDone && $0.tag == "tick" }.compactMap { epochMilliseconds($0.fireAt) })
                .sorted()
        }
        let restartedAt = epochMilliseconds()
        // Two fires on time after the restart: the catch-up is done by then.
        XCTAssertTrue(waitUntil(timeout: 10, interval: 0.1) { ran().filter { $0 > restartedAt }.count >= 2 }, "\(ran())")
        let times = ran()
        let gaps = zip(times, times.dropFirst()).filter { $1 - $0 != 1000 }
        let missed = try events(second).filter { $0.topic == "schedule.missed" && $0.payload["reason"] as? String == "misfire" }
        switch policy {
        case "run_all":
            XCTAssertEqual(gaps.count, 0, "run_all left missed fires out: \(times)")
            XCTAssertEqual(missed.count, 0, "run_all reported missed fires: \(missed)")
        default:
            XCTAssertEqual(gaps.count, 1, "\(policy): not one gap in \(times)")
            let event = try XCTUnwrap(missed.first, "no schedule.missed event")
            let count = (event.payload["missed"] as? NSNumber)?.intValue ?? 0
            let latest = epochMilliseconds(event.payload["fire_at"] as? String) ?? 0
            if policy == "skip" {
                XCTAssertGreaterThanOrEqual(count, 3, "\(event)")
                XCTAssertFalse(times.contains(latest), "skip ran the latest missed fire: \(times) \(event)")
            } else {
                XCTAssertGreaterThanOrEqual(count, 2, "\(event)")
                XCTAssertTrue(times.contains(latest), "run_once did not run the latest missed fire: \(times) \(event)")
            }
        }
    }

    /// An operator's change to a declared schedule outlives a restart and a reload of its plugin.
    func checkOperatorChangesToADeclaredScheduleAreKept() throws {
        let settings = try schedulerSettings(["jobprobe.schedule_spec=0 0 1 1 *"])
        let first = try startScheduler(settings)
        let changed = try ctl(first, ["schedules", "set", "probe.tick", "--cron", "30 2 * * *", "--tz", "Europe/Berlin",
                                      "--overlap", "allow"])
        XCTAssertEqual(changed["spec"] as? String, "30 2 * * *", "\(changed)")
        XCTAssertEqual(changed["time_zone"] as? String, "Europe/Berlin", "\(changed)")
        let next = changed["next_fire"] as? String ?? ""
        XCTAssertTrue(["T02:30:00+01:00", "T02:30:00+02:00", "T03:00:00+02:00"].contains { next.contains($0) },
                      "the next fire is not 02:30 Berlin time: \(changed)")
        let second = try restartScheduler(first, settings: settings)
        let kept = try XCTUnwrap(try schedule(second, "probe.tick"))
        XCTAssertEqual(kept["spec"] as? String, "30 2 * * *", "the change did not outlive the restart: \(kept)")
        XCTAssertEqual(kept["time_zone"] as? String, "Europe/Berlin", "\(kept)")
        XCTAssertEqual(kept["overlap"] as? String, "allow", "\(kept)")
        // A reload of the declaring plugin declares the code's spec again; the operator's stays.
        let before = try generation(second, "jobprobe") ?? 0
        try second.copyIntoPlugins(try Products.path("libjobprobe.so"), as: "libjobprobe.so")
        XCTAssertTrue(try waitUntil(timeout: 20) { (try generation(second, "jobprobe") ?? 0) > before }, "no reload")
        let afterReload = try waitUntil(timeout: 10) { try schedule(second, "probe.tick")?["spec"] as? String == "30 2 * * *" }
        let reloaded = try schedule(second, "probe.tick")
        XCTAssertTrue(afterReload, "the change did not outlive the reload: \(String(describing: reloaded))")
    }
}
