import CKernelABI
import CronKit
import Foundation
import KernelSDK

/// One schedule as it fires: what code declared (`register_schedule`) with
/// an operator's changes on top, or one an operator added.
struct ScheduleDefinition: Sendable, Equatable {
    enum Source: String, Sendable { case code, `operator` }
    enum Overlap: String, Sendable, CaseIterable { case skip, allow, queue_one, replace }
    enum Misfire: String, Sendable, CaseIterable { case run_once, skip, run_all }

    var name: String
    var source: Source
    var owner: String
    var spec: String
    var job: String
    var payload: String
    var timeZone: String
    var queue: String
    var overlap: Overlap
    var misfire: Misfire
    var misfireLimit: Int
    var jitterMilliseconds: Int64
    var enabled: Bool

    /// The parsed spec and zone, or why they are not valid.
    func compiled() -> Result<(ScheduleSpec, TimeZone), CronError> {
        do throws(CronError) {
            return .success((try ScheduleSpec(spec), try zone(named: timeZone)))
        } catch {
            return .failure(error)
        }
    }

    /// The code-declared schedules the kernel holds now.
    static func declared(_ kernel: PluginContext) -> [ScheduleDefinition] {
        final class Collector { var items: [ScheduleDefinition] = [] }
        let collector = Collector()
        withExtendedLifetime(collector) {
            kernel.host.pointee.schedules_list(kernel.handle, { context, owner, def in
                let collector = Unmanaged<Collector>.fromOpaque(context!).takeUnretainedValue()
                guard let def = def?.pointee else { return }
                let string = { (pointer: UnsafePointer<CChar>?) in pointer.map { String(cString: $0) } }
                let payload = def.payload.len > 0
                    ? String(decoding: UnsafeRawBufferPointer(start: def.payload.ptr, count: def.payload.len), as: UTF8.self) : "{}"
                collector.items.append(ScheduleDefinition(
                    name: string(def.name) ?? "", source: .code, owner: string(owner) ?? "", spec: string(def.spec) ?? "",
                    job: string(def.job) ?? "", payload: payload, timeZone: string(def.time_zone) ?? "UTC",
                    queue: string(def.queue) ?? "default",
                    overlap: [.skip, .allow, .queue_one, .replace][Int(min(def.overlap.rawValue, 3))],
                    misfire: [.run_once, .skip, .run_all][Int(min(def.misfire.rawValue, 2))],
                    misfireLimit: def.misfire_limit == 0 ? 100 : Int(def.misfire_limit),
                    jitterMilliseconds: Int64(clamping: def.jitter_ms), enabled: true))
            }, Unmanaged.passUnretained(collector).toOpaque())
        }
        return collector.items
    }

    /// This definition with the operator's changes in `row` applied.
    func applying(_ row: SQLRow) -> ScheduleDefinition {
        var copy = self
        if let spec = row["spec"].string { copy.spec = spec }
        if let zone = row["time_zone"].string { copy.timeZone = zone }
        if let overlap = row["overlap"].string.flatMap(Overlap.init) { copy.overlap = overlap }
        if let misfire = row["misfire"].string.flatMap(Misfire.init) { copy.misfire = misfire }
        if let enabled = row["enabled"].int { copy.enabled = enabled != 0 }
        return copy
    }

    /// An operator's schedule from its row.
    static func fromOperatorRow(_ row: SQLRow) -> ScheduleDefinition? {
        guard let name = row["name"].string, let spec = row["spec"].string, let job = row["job"].string else { return nil }
        return ScheduleDefinition(
            name: name, source: .operator, owner: "kernelctl", spec: spec, job: job, payload: row["payload"].string ?? "{}",
            timeZone: row["time_zone"].string ?? "UTC", queue: row["queue"].string ?? "default",
            overlap: row["overlap"].string.flatMap(Overlap.init) ?? .skip,
            misfire: row["misfire"].string.flatMap(Misfire.init) ?? .run_once, misfireLimit: 100, jitterMilliseconds: 0,
            enabled: (row["enabled"].int ?? 1) != 0)
    }
}
