import ArgumentParser
import Foundation

// The scheduler plugin's operator view of jobs and queues. Each command calls
// one of its admin-only endpoints (`scheduler.jobs.*`, `scheduler.queues.*`)
// through the admin `call` operation. Durations (`500ms`, `2s`, `5m`, `1h`)
// and ISO-8601 times are sent as text: the plugin parses them.
// Schedules: ScheduleCommands.swift.

extension KernelCtl {
    struct Jobs: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "jobs",
            abstract: "Inspect, queue, cancel, retry and delete the scheduler's jobs.",
            subcommands: [JobsList.self, JobsShow.self, JobsEnqueue.self, JobsCancel.self, JobsRetry.self,
                          JobsDelete.self, JobsStats.self])
    }

    struct JobsList: AdminCommand {
        static let configuration = CommandConfiguration(
            commandName: "list", abstract: "List jobs, newest first, by queue and state.")
        @OptionGroup var options: GlobalOptions
        @ParentCommand var parent: KernelCtl
        @Option(help: ArgumentHelp("Only jobs of this queue.", valueName: "queue")) var queue: String?
        @Option(help: ArgumentHelp(
            "Only jobs in this state: scheduled, available, running, retryable, completed, discarded or cancelled.",
            valueName: "state"))
        var state: String?
        @Option(help: "Jobs to list (1-1000; plugin default 50).") var limit: Int?

        func execute(_ context: Context) throws(CtlError) {
            var body: JSONObject = [:]
            if let queue { body["queue"] = queue }
            if let state { body["state"] = state }
            if let limit { body["limit"] = limit }
            try context.emit(try context.callPlugin("scheduler", "scheduler.jobs.list", body), human: SchedulerRender.jobs)
        }
    }

    struct JobsShow: AdminCommand {
        static let configuration = CommandConfiguration(
            commandName: "show", abstract: "Show one job with its payload and the errors of its attempts.")
        @OptionGroup var options: GlobalOptions
        @ParentCommand var parent: KernelCtl
        @Argument(help: "Job id.") var id: Int64

        func execute(_ context: Context) throws(CtlError) {
            try context.emit(try context.callPlugin("scheduler", "scheduler.jobs.show", ["id": id]), human: SchedulerRender.job)
        }
    }

    struct JobsEnqueue: AdminCommand {
        static let configuration = CommandConfiguration(
            commandName: "enqueue", abstract: "Queue a job by name, with a JSON payload.")
        @OptionGroup var options: GlobalOptions
        @ParentCommand var parent: KernelCtl
        @Argument(help: "Job name (registered by a plugin).") var name: String
        @Argument(help: "Payload, as JSON text (default: {}).") var payload: String?
        @Option(help: ArgumentHelp("Run after this delay, e.g. 500ms, 2s, 5m, 1h.", valueName: "duration"))
        var delay: String?
        @Option(help: ArgumentHelp("Run at this ISO-8601 time, e.g. 2026-03-29T03:00:00+02:00.", valueName: "time"))
        var at: String?
        @Option(help: ArgumentHelp("Queue (default: default).", valueName: "queue")) var queue: String?
        @Option(help: ArgumentHelp("Refuse the job while an unfinished job of the same name has this key.", valueName: "key"))
        var uniqueKey: String?
        @Option(help: "Priority, 0 (first) to 9.") var priority: Int?
        @Option(help: "Attempts before the job is discarded.") var maxAttempts: Int?
        @Option(help: ArgumentHelp("Time limit of one attempt (default: the queue's), e.g. 30s.", valueName: "duration"))
        var timeout: String?

        func validate() throws {
            if delay != nil && at != nil { throw ValidationError("give --delay or --at, not both") }
        }

        func execute(_ context: Context) throws(CtlError) {
            var body: JSONObject = ["name": name]
            if let payload { body["payload"] = payload }
            if let delay { body["delay"] = delay }
            if let at { body["at"] = at }
            if let queue { body["queue"] = queue }
            if let uniqueKey { body["unique_key"] = uniqueKey }
            if let priority { body["priority"] = priority }
            if let maxAttempts { body["max_attempts"] = maxAttempts }
            if let timeout { body["timeout"] = timeout }
            let result: JSONObject
            do {
                result = try context.callPlugin("scheduler", "scheduler.jobs.enqueue", body)
            } catch .kernel(let code, let message, let details) where code == "conflict" && details["job_id"] != nil {
                // A duplicate unique key: the error names the job that holds it.
                throw .kernel(code: code, message: "\(message) (existing job \(details["job_id"]!))", details: details)
            }
            try context.emit(result) { "enqueued job \(Output.text($0["id"]))" }
        }
    }

    struct JobsCancel: AdminCommand {
        static let configuration = CommandConfiguration(
            commandName: "cancel", abstract: "Cancel a job that has not finished (a running one is stopped).")
        @OptionGroup var options: GlobalOptions
        @ParentCommand var parent: KernelCtl
        @Argument(help: "Job id.") var id: Int64

        func execute(_ context: Context) throws(CtlError) {
            let job = try context.callPlugin("scheduler", "scheduler.jobs.cancel", ["id": id])
            try context.emit(job, human: SchedulerRender.cancelled)
        }
    }

    struct JobsRetry: AdminCommand {
        static let configuration = CommandConfiguration(
            commandName: "retry", abstract: "Run a waiting, failed, cancelled or completed job again now.")
        @OptionGroup var options: GlobalOptions
        @ParentCommand var parent: KernelCtl
        @Argument(help: "Job id.") var id: Int64

        func execute(_ context: Context) throws(CtlError) {
            let job = try context.callPlugin("scheduler", "scheduler.jobs.retry", ["id": id])
            try context.emit(job, human: SchedulerRender.retried)
        }
    }

    struct JobsDelete: AdminCommand {
        static let configuration = CommandConfiguration(
            commandName: "delete", abstract: "Delete a job that is not running.")
        @OptionGroup var options: GlobalOptions
        @ParentCommand var parent: KernelCtl
        @Argument(help: "Job id.") var id: Int64

        func execute(_ context: Context) throws(CtlError) {
            let result = try context.callPlugin("scheduler", "scheduler.jobs.delete", ["id": id])
            try context.emit(result) { "deleted job \(Output.text($0["deleted"]))" }
        }
    }

    struct JobsStats: AdminCommand {
        static let configuration = CommandConfiguration(
            commandName: "stats", abstract: "Count jobs per state, and show each queue's depth.")
        @OptionGroup var options: GlobalOptions
        @ParentCommand var parent: KernelCtl

        func execute(_ context: Context) throws(CtlError) {
            try context.emit(try context.callPlugin("scheduler", "scheduler.jobs.stats", [:]), human: SchedulerRender.stats)
        }
    }

    struct Queues: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "queues",
            abstract: "List the scheduler's queues; pause, resume or resize one.",
            subcommands: [QueuesList.self, QueuesPause.self, QueuesResume.self, QueuesSet.self])
    }

    struct QueuesList: AdminCommand {
        static let configuration = CommandConfiguration(
            commandName: "list", abstract: "List queues with their settings and the jobs in each.")
        @OptionGroup var options: GlobalOptions
        @ParentCommand var parent: KernelCtl

        func execute(_ context: Context) throws(CtlError) {
            try context.emit(try context.callPlugin("scheduler", "scheduler.queues.list", [:]), human: SchedulerRender.queues)
        }
    }

    struct QueuesPause: AdminCommand {
        static let configuration = CommandConfiguration(
            commandName: "pause", abstract: "Stop starting jobs of a queue (running ones finish).")
        @OptionGroup var options: GlobalOptions
        @ParentCommand var parent: KernelCtl
        @Argument(help: "Queue name.") var name: String

        func execute(_ context: Context) throws(CtlError) {
            let queue = try context.callPlugin("scheduler", "scheduler.queues.set", ["name": name, "paused": true])
            try context.emit(queue, human: SchedulerRender.queue)
        }
    }

    struct QueuesResume: AdminCommand {
        static let configuration = CommandConfiguration(
            commandName: "resume", abstract: "Start jobs of a paused queue again.")
        @OptionGroup var options: GlobalOptions
        @ParentCommand var parent: KernelCtl
        @Argument(help: "Queue name.") var name: String

        func execute(_ context: Context) throws(CtlError) {
            let queue = try context.callPlugin("scheduler", "scheduler.queues.set", ["name": name, "paused": false])
            try context.emit(queue, human: SchedulerRender.queue)
        }
    }

    struct QueuesSet: AdminCommand {
        static let configuration = CommandConfiguration(
            commandName: "set", abstract: "Change how many jobs of a queue run at once, or start per second.")
        @OptionGroup var options: GlobalOptions
        @ParentCommand var parent: KernelCtl
        @Argument(help: "Queue name.") var name: String
        @Option(help: "Jobs of the queue running at once (1-10000).") var concurrency: Int?
        @Option(help: ArgumentHelp("Jobs started per second at most (0: no limit).", valueName: "per-second"))
        var rate: Double?

        func validate() throws {
            if concurrency == nil && rate == nil { throw ValidationError("give --concurrency, --rate or both") }
        }

        func execute(_ context: Context) throws(CtlError) {
            var body: JSONObject = ["name": name]
            if let concurrency { body["concurrency"] = concurrency }
            if let rate { body["rate"] = rate }
            let queue = try context.callPlugin("scheduler", "scheduler.queues.set", body)
            try context.emit(queue, human: SchedulerRender.queue)
        }
    }
}
