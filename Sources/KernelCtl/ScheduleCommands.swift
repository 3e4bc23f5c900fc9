import ArgumentParser
import Foundation

// The scheduler plugin's cron schedules. Each command calls one of its
// admin-only endpoints (`scheduler.schedules.*`) through the admin `call`
// operation. Specs, zones and ISO-8601 times are sent as text: the plugin
// parses them. Jobs and queues: SchedulerCommands.swift.

/// What a schedule does when its previous job is still unfinished at a fire.
enum OverlapPolicy: String, CaseIterable, ExpressibleByArgument {
    case skip, allow, queue_one, replace

    /// `queue-one` is accepted for `queue_one`.
    init?(argument: String) { self.init(rawValue: argument.replacingOccurrences(of: "-", with: "_")) }
}

/// What a schedule does with the fires it missed while the kernel was down.
enum MisfirePolicy: String, CaseIterable, ExpressibleByArgument {
    case run_once, skip, run_all

    /// `run-once` and `run-all` are accepted too.
    init?(argument: String) { self.init(rawValue: argument.replacingOccurrences(of: "-", with: "_")) }
}

extension KernelCtl {
    struct Schedules: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "schedules",
            abstract: "List, add, change, run and remove the scheduler's cron schedules.",
            subcommands: [SchedulesList.self, SchedulesShow.self, SchedulesHistory.self, SchedulesAdd.self,
                          SchedulesSet.self, SchedulesEnable.self, SchedulesDisable.self, SchedulesRun.self,
                          SchedulesRemove.self, SchedulesNext.self])
    }

    struct SchedulesList: AdminCommand {
        static let configuration = CommandConfiguration(
            commandName: "list", abstract: "List schedules with their next fire and last outcome.")
        @OptionGroup var options: GlobalOptions
        @ParentCommand var parent: KernelCtl

        func execute(_ context: Context) throws(CtlError) {
            try context.emit(try context.callPlugin("scheduler", "scheduler.schedules.list", [:]),
                             human: SchedulerRender.schedules)
        }
    }

    struct SchedulesShow: AdminCommand {
        static let configuration = CommandConfiguration(
            commandName: "show", abstract: "Show one schedule and its recent fires.")
        @OptionGroup var options: GlobalOptions
        @ParentCommand var parent: KernelCtl
        @Argument(help: "Schedule name.") var name: String

        func execute(_ context: Context) throws(CtlError) {
            try context.emit(try context.callPlugin("scheduler", "scheduler.schedules.show", ["name": name]),
                             human: SchedulerRender.schedule)
        }
    }

    struct SchedulesHistory: AdminCommand {
        static let configuration = CommandConfiguration(
            commandName: "history", abstract: "List a schedule's fires, newest first, with their jobs.")
        @OptionGroup var options: GlobalOptions
        @ParentCommand var parent: KernelCtl
        @Argument(help: "Schedule name.") var name: String
        @Option(help: "Fires to list (1-1000; plugin default 50).") var limit: Int?

        func execute(_ context: Context) throws(CtlError) {
            var body: JSONObject = ["name": name]
            if let limit { body["limit"] = limit }
            try context.emit(try context.callPlugin("scheduler", "scheduler.schedules.history", body),
                             human: SchedulerRender.history)
        }
    }

    struct SchedulesAdd: AdminCommand {
        static let configuration = CommandConfiguration(
            commandName: "add", abstract: "Add a schedule that queues a job at each fire; kept across restarts.")
        @OptionGroup var options: GlobalOptions
        @ParentCommand var parent: KernelCtl
        @Argument(help: "Schedule name ([A-Za-z0-9._-], up to 128).") var name: String
        @Argument(help: "When to fire, as one argument: cron such as '*/5 * * * *', @daily, or '@every 90s'.") var spec: String
        @Argument(help: "Job to queue at each fire (registered by a plugin).") var job: String
        @Argument(help: "The job's payload, as JSON text (default: {}).") var payload: String?
        @Option(name: .customLong("tz"), help: ArgumentHelp("Time zone of the spec (default: UTC).", valueName: "zone"))
        var timeZone: String?
        @Option(help: "When the previous job is unfinished (default: skip).") var overlap: OverlapPolicy?
        @Option(help: "Fires missed while the kernel was down or busy (default: run_once).") var misfire: MisfirePolicy?
        @Option(help: ArgumentHelp("Queue of the jobs (default: default).", valueName: "queue")) var queue: String?

        func execute(_ context: Context) throws(CtlError) {
            var body: JSONObject = ["name": name, "spec": spec, "job": job]
            if let payload { body["payload"] = payload }
            if let timeZone { body["time_zone"] = timeZone }
            if let overlap { body["overlap"] = overlap.rawValue }
            if let misfire { body["misfire"] = misfire.rawValue }
            if let queue { body["queue"] = queue }
            let schedule = try context.callPlugin("scheduler", "scheduler.schedules.add", body)
            try context.emit(schedule) { SchedulerRender.scheduleChange("added", $0) }
        }
    }

    struct SchedulesSet: AdminCommand {
        static let configuration = CommandConfiguration(
            commandName: "set", abstract: "Change a schedule's spec, zone, policies, job, payload or queue.")
        @OptionGroup var options: GlobalOptions
        @ParentCommand var parent: KernelCtl
        @Argument(help: "Schedule name.") var name: String
        @Option(name: .customLong("cron"), help: ArgumentHelp("New spec, as one argument, e.g. '0 3 * * *'.", valueName: "spec"))
        var spec: String?
        @Option(name: .customLong("tz"), help: ArgumentHelp("New time zone of the spec.", valueName: "zone"))
        var timeZone: String?
        @Option(help: "When the previous job is unfinished.") var overlap: OverlapPolicy?
        @Option(help: "Fires missed while the kernel was down or busy.") var misfire: MisfirePolicy?
        @Option(help: ArgumentHelp("New job to queue (operator schedules only).", valueName: "job")) var job: String?
        @Option(help: ArgumentHelp("New payload, as JSON text (operator schedules only).", valueName: "json"))
        var payload: String?
        @Option(help: ArgumentHelp("New queue (operator schedules only).", valueName: "queue")) var queue: String?

        func validate() throws {
            if spec == nil && timeZone == nil && overlap == nil && misfire == nil && job == nil && payload == nil && queue == nil {
                throw ValidationError("nothing to change: give --cron, --tz, --overlap, --misfire, --job, --payload or --queue")
            }
        }

        func execute(_ context: Context) throws(CtlError) {
            var body: JSONObject = ["name": name]
            if let spec { body["spec"] = spec }
            if let timeZone { body["time_zone"] = timeZone }
            if let overlap { body["overlap"] = overlap.rawValue }
            if let misfire { body["misfire"] = misfire.rawValue }
            if let job { body["job"] = job }
            if let payload { body["payload"] = payload }
            if let queue { body["queue"] = queue }
            let schedule = try context.callPlugin("scheduler", "scheduler.schedules.set", body)
            try context.emit(schedule) { SchedulerRender.scheduleChange("changed", $0) }
        }
    }

    struct SchedulesEnable: AdminCommand {
        static let configuration = CommandConfiguration(
            commandName: "enable", abstract: "Let a schedule fire again; kept across restarts.")
        @OptionGroup var options: GlobalOptions
        @ParentCommand var parent: KernelCtl
        @Argument(help: "Schedule name.") var name: String

        func execute(_ context: Context) throws(CtlError) {
            let schedule = try context.callPlugin("scheduler", "scheduler.schedules.enable", ["name": name])
            try context.emit(schedule, human: SchedulerRender.enabled)
        }
    }

    struct SchedulesDisable: AdminCommand {
        static let configuration = CommandConfiguration(
            commandName: "disable", abstract: "Stop a schedule from firing; kept across restarts.")
        @OptionGroup var options: GlobalOptions
        @ParentCommand var parent: KernelCtl
        @Argument(help: "Schedule name.") var name: String

        func execute(_ context: Context) throws(CtlError) {
            let schedule = try context.callPlugin("scheduler", "scheduler.schedules.disable", ["name": name])
            try context.emit(schedule) { "disabled schedule \(Output.text($0["name"]))" }
        }
    }

    struct SchedulesRun: AdminCommand {
        static let configuration = CommandConfiguration(
            commandName: "run", abstract: "Fire a schedule now, whatever its timing and overlap policy.")
        @OptionGroup var options: GlobalOptions
        @ParentCommand var parent: KernelCtl
        @Argument(help: "Schedule name.") var name: String

        func execute(_ context: Context) throws(CtlError) {
            let schedule = try context.callPlugin("scheduler", "scheduler.schedules.run", ["name": name])
            try context.emit(schedule, human: SchedulerRender.fired)
        }
    }

    struct SchedulesRemove: AdminCommand {
        static let configuration = CommandConfiguration(
            commandName: "remove", abstract: "Remove a schedule added by an operator (disable a plugin's instead).")
        @OptionGroup var options: GlobalOptions
        @ParentCommand var parent: KernelCtl
        @Argument(help: "Schedule name.") var name: String

        func execute(_ context: Context) throws(CtlError) {
            let result = try context.callPlugin("scheduler", "scheduler.schedules.remove", ["name": name])
            try context.emit(result) { "removed schedule \(Output.text($0["removed"]))" }
        }
    }

    struct SchedulesNext: AdminCommand {
        static let configuration = CommandConfiguration(
            commandName: "next", abstract: "Print the next fire times of a schedule spec, one per line.")
        @OptionGroup var options: GlobalOptions
        @ParentCommand var parent: KernelCtl
        @Argument(help: "Spec, as one argument: cron such as '30 2 * * *', @daily, or '@every 90s'.") var spec: String
        @Option(name: .customLong("tz"), help: ArgumentHelp("Time zone (default: UTC).", valueName: "zone"))
        var timeZone: String?
        @Option(help: ArgumentHelp("Count from this ISO-8601 time (default: now).", valueName: "time")) var from: String?
        @Option(help: "Fire times to print (1-1000; plugin default 5).") var count: Int?

        func execute(_ context: Context) throws(CtlError) {
            var body: JSONObject = ["spec": spec]
            if let timeZone { body["time_zone"] = timeZone }
            if let from { body["from"] = from }
            if let count { body["count"] = count }
            try context.emit(try context.callPlugin("scheduler", "scheduler.schedules.next", body),
                             human: SchedulerRender.next)
        }
    }
}
