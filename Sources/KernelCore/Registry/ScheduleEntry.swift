import CKernelABI

/// A schedule a plugin declared (`register_schedule`): copied, kept while
/// its plugin is loaded, and fired by the scheduler plugin, which reads
/// them with `schedules_list`.
struct ScheduleEntry: Sendable, Equatable {
    let name: String
    let spec: String
    let job: String
    let payload: [UInt8]
    let timeZone: String?
    let queue: String?
    let overlap: UInt32
    let misfire: UInt32
    let misfireLimit: UInt32
    let jitterMilliseconds: UInt64
    let ownerName: String
    let owner: PluginInstance

    static func == (a: ScheduleEntry, b: ScheduleEntry) -> Bool {
        a.name == b.name && a.spec == b.spec && a.job == b.job && a.payload == b.payload && a.timeZone == b.timeZone
            && a.queue == b.queue && a.overlap == b.overlap && a.misfire == b.misfire
            && a.misfireLimit == b.misfireLimit && a.jitterMilliseconds == b.jitterMilliseconds
            && a.ownerName == b.ownerName
    }

    /// Calls `body` with the entry as a C definition, borrowed for the call.
    func withDefinition<R>(_ body: (UnsafePointer<kn_schedule_def>) -> R) -> R {
        let buffers = (OwnedBuffer(name), OwnedBuffer(spec), OwnedBuffer(job), OwnedBuffer(payload),
                       timeZone.map { OwnedBuffer($0) }, queue.map { OwnedBuffer($0) })
        var def = kn_schedule_def()
        def.struct_size = UInt32(MemoryLayout<kn_schedule_def>.size)
        def.name = buffers.0.cString
        def.spec = buffers.1.cString
        def.job = buffers.2.cString
        def.payload = buffers.3.bytes
        def.time_zone = buffers.4?.cString
        def.queue = buffers.5?.cString
        def.overlap = kn_overlap(rawValue: overlap)
        def.misfire = kn_misfire(rawValue: misfire)
        def.misfire_limit = misfireLimit
        def.jitter_ms = jitterMilliseconds
        return withExtendedLifetime(buffers) { withUnsafePointer(to: &def, body) }
    }
}
