import CKernelABI
import Dispatch
import Synchronization
import XCTest
@testable import KernelCore

/// The 1.2 job and schedule functions: schedules as owned registrations,
/// calls that target a job, and enqueues kept in memory or handed to the
/// scheduler service.
final class JobsAndSchedulesTests: XCTestCase {
    private var host: kn_host_api { FakePlugins.host.pointee }

    private func schedule(_ plugin: OpaquePointer, _ name: String, spec: String = "0 3 * * *", zone: String? = "Europe/Berlin")
        -> kn_status {
        var def = kn_schedule_def()
        def.struct_size = UInt32(MemoryLayout<kn_schedule_def>.size)
        def.overlap = KN_OVERLAP_QUEUE_ONE
        def.misfire_limit = 7
        let payload = Array(#"{"k":1}"#.utf8)
        return payload.withUnsafeBufferPointer { payload in
            name.withCString { name in
                spec.withCString { spec in
                    "cleanup".withCString { job in
                        withOptional(zone) { zone in
                            def.name = name
                            def.spec = spec
                            def.job = job
                            def.time_zone = zone
                            def.payload = kn_bytes(ptr: payload.baseAddress, len: payload.count)
                            return FakePlugins.host.pointee.register_schedule(plugin, &def)
                        }
                    }
                }
            }
        }
    }

    private func listSchedules(_ plugin: OpaquePointer) -> [(owner: String, name: String, spec: String, zone: String?, payload: String, overlap: UInt32, limit: UInt32)] {
        final class Box { var items: [(owner: String, name: String, spec: String, zone: String?, payload: String, overlap: UInt32, limit: UInt32)] = [] }
        let box = Box()
        host.schedules_list(plugin, { context, owner, def in
            let box = Unmanaged<Box>.fromOpaque(context!).takeUnretainedValue()
            let def = def!.pointee
            box.items.append((String(cString: owner!), String(cString: def.name), String(cString: def.spec),
                              def.time_zone.map { String(cString: $0) },
                              String(decoding: UnsafeBufferPointer(start: def.payload.ptr, count: def.payload.len), as: UTF8.self),
                              def.overlap.rawValue, def.misfire_limit))
        }, Unmanaged.passUnretained(box).toOpaque())
        return box.items
    }

    func testSchedulesAreRegistrationsOwnedByTheirPluginAndAnnounced() throws {
        let kernel = try FakePlugins.makeKernel()
        let changes = Tally()
        let watcher = try FakePlugins.load(kernel, "watcher") { plugin in
            var def = kn_event_handler_def()
            def.struct_size = UInt32(MemoryLayout<kn_event_handler_def>.size)
            def.handler = { userData, _ in
                Unmanaged<Tally>.fromOpaque(userData!).takeUnretainedValue().add()
            }
            def.user_data = Unmanaged.passRetained(changes).toOpaque()
            return "kernel.schedules.changed".withCString { pattern in
                def.pattern = pattern
                return FakePlugins.host.pointee.register_event_handler(plugin, &def)
            }
        }
        try FakePlugins.load(kernel, "owner") { plugin in self.schedule(plugin, "owner.nightly") }
        let listed = listSchedules(watcher.handle)
        XCTAssertEqual(listed.count, 1)
        XCTAssertEqual(listed.first?.owner, "owner")
        XCTAssertEqual(listed.first?.name, "owner.nightly")
        XCTAssertEqual(listed.first?.spec, "0 3 * * *")
        XCTAssertEqual(listed.first?.zone, "Europe/Berlin")
        XCTAssertEqual(listed.first?.payload, #"{"k":1}"#)
        XCTAssertEqual(listed.first?.overlap, KN_OVERLAP_QUEUE_ONE.rawValue)
        XCTAssertEqual(listed.first?.limit, 7)
        XCTAssertTrue(waitFor { changes.value == 1 }, "no kernel.schedules.changed after the load")

        // Names are global; a malformed definition is refused.
        var duplicate = KN_OK
        var malformed = KN_OK
        XCTAssertThrowsError(try FakePlugins.load(kernel, "other") { plugin in
            malformed = self.schedule(plugin, "bad name", spec: "* * * * *")
            duplicate = self.schedule(plugin, "owner.nightly")
            return duplicate
        })
        XCTAssertEqual(duplicate, KN_ERR_CONFLICT)
        XCTAssertEqual(malformed, KN_ERR_INVALID_ARGUMENT)

        try kernel.control.sync { try kernel.unload(name: "owner") }
        XCTAssertTrue(listSchedules(watcher.handle).isEmpty, "the unloaded plugin's schedule is still listed")
        XCTAssertTrue(waitFor { changes.value == 2 }, "no kernel.schedules.changed after the unload")
    }

    func testACallTargetsAJobWithItsMetadataAndUnknownJobsAreRefused() throws {
        let kernel = try FakePlugins.makeKernel()
        let plugin = try FakePlugins.load(kernel, "jobs") { plugin in self.registerJob(plugin, "report", maxAttempts: 5) }
        let call = try XCTUnwrap(host.call_new(plugin.handle, "job"))
        defer { host.call_release(call) }
        XCTAssertEqual(host.call_set_job(call, "missing"), KN_ERR_NOT_FOUND)
        XCTAssertEqual(host.call_set_job(call, "report"), KN_OK)
        var id = Array("42".utf8)
        _ = id.withUnsafeMutableBufferPointer { host.call_meta_set(call, "job.id", kn_bytes(ptr: $0.baseAddress, len: $0.count)) }
        let done = DispatchSemaphore(value: 0)
        let holder = OutcomeHolder()
        var callbacks = CompletionBox.callbacks { outcome in
            holder.outcome = outcome
            done.signal()
        }
        host.call_dispatch(call, &callbacks)
        XCTAssertEqual(done.wait(timeout: .now() + 5), .success)
        XCTAssertEqual(String(decoding: holder.outcome?.body ?? [], as: UTF8.self), "ran job 42")
    }

    func testWithoutASchedulerJobsRunInMemoryAndUniqueKeysAreRefused() throws {
        let kernel = try FakePlugins.makeKernel()
        let plugin = try FakePlugins.load(kernel, "jobs") { plugin in self.registerJob(plugin, "report", maxAttempts: 5) }
        let ran = Tally()
        JobProbe.ran = ran
        defer { JobProbe.ran = nil }
        let accepted = submit(plugin.handle, "report", uniqueKey: nil)
        XCTAssertEqual(accepted.status, KN_OK)
        XCTAssertGreaterThan(accepted.id, 0)
        XCTAssertTrue(waitFor { ran.value == 1 }, "the in-memory job did not run")

        let unique = submit(plugin.handle, "report", uniqueKey: "k")
        XCTAssertEqual(unique.status, KN_ERR_UNAVAILABLE)
        XCTAssertTrue(unique.message.contains("scheduler"), unique.message)
        XCTAssertEqual(host.job_submit(plugin.handle, "missing", kn_bytes(), nil, { _, _, _, _ in }, nil), KN_ERR_NOT_FOUND)
    }

    func testEnqueuesGoToTheSchedulerServiceWithTheJobsMaxAttempts() throws {
        let kernel = try FakePlugins.makeKernel()
        let table = UnsafeMutablePointer<kn_scheduler_api>.allocate(capacity: 1)
        var api = kn_scheduler_api()
        api.struct_size = UInt32(MemoryLayout<kn_scheduler_api>.size)
        api.submit = { caller, name, _, options, done, userData in
            FakeScheduler.seen.withLock {
                $0.append("\(String(cString: FakePlugins.host.pointee.plugin_name(caller)!)) \(String(cString: name!)) attempts=\(options!.pointee.max_attempts) delay=\(options!.pointee.delay_ms)")
            }
            done!(userData, KN_OK, 77, "")
            return KN_OK
        }
        table.initialize(to: api)
        defer { table.deallocate() }
        try FakePlugins.load(kernel, "scheduler") { plugin in
            FakePlugins.host.pointee.register_service(plugin, KN_SCHEDULER_SERVICE, UInt32(KN_SCHEDULER_MAJOR), 0, table)
        }
        let plugin = try FakePlugins.load(kernel, "jobs") { plugin in self.registerJob(plugin, "report", maxAttempts: 5) }
        var id: UInt64 = 0
        XCTAssertEqual(host.job_enqueue(plugin.handle, "report", kn_bytes(), 1500, &id), KN_OK)
        XCTAssertEqual(id, 77)
        let submitted = submit(plugin.handle, "report", uniqueKey: "k")
        XCTAssertEqual(submitted.status, KN_OK)
        XCTAssertEqual(submitted.id, 77)
        XCTAssertEqual(FakeScheduler.seen.withLock { $0 }, ["jobs report attempts=5 delay=1500", "jobs report attempts=5 delay=0"])
    }

    // MARK: Helpers

    private func registerJob(_ plugin: OpaquePointer, _ name: String, maxAttempts: UInt32) -> kn_status {
        var def = kn_job_def()
        def.struct_size = UInt32(MemoryLayout<kn_job_def>.size)
        def.max_attempts = maxAttempts
        def.handler = Handler.trampoline
        def.user_data = Handler { call in
            JobProbe.ran?.add()
            var id = kn_bytes()
            _ = FakePlugins.host.pointee.call_meta_get(call, "job.id", &id)
            call.respond("ran job " + String(decoding: UnsafeBufferPointer(start: id.ptr, count: id.len), as: UTF8.self))
        }.userData
        def.release = Handler.release
        return name.withCString { name in
            def.name = name
            return FakePlugins.host.pointee.register_job(plugin, &def)
        }
    }

    private func submit(_ plugin: OpaquePointer, _ name: String, uniqueKey: String?) -> (status: kn_status, id: UInt64, message: String) {
        final class Result: @unchecked Sendable {
            var status = KN_ERR_INTERNAL
            var id: UInt64 = 0
            var message = ""
            let done = DispatchSemaphore(value: 0)
        }
        let result = Result()
        var options = kn_job_options()
        options.struct_size = UInt32(MemoryLayout<kn_job_options>.size)
        let status = withOptional(uniqueKey) { key in
            options.unique_key = key
            return host.job_submit(plugin, name, kn_bytes(), &options, { context, status, id, message in
                let result = Unmanaged<Result>.fromOpaque(context!).takeRetainedValue()
                result.status = status
                result.id = id
                result.message = message.map { String(cString: $0) } ?? ""
                result.done.signal()
            }, Unmanaged.passRetained(result).toOpaque())
        }
        guard status == KN_OK else { return (status, 0, "") }
        XCTAssertEqual(result.done.wait(timeout: .now() + 5), .success)
        return (result.status, result.id, result.message)
    }

    private func waitFor(_ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(5)
        while Date() < deadline {
            if condition() { return true }
            usleep(5_000)
        }
        return condition()
    }
}

private final class Tally: Sendable {
    private let count = Atomic<Int>(0)
    func add() { count.add(1, ordering: .relaxed) }
    var value: Int { count.load(ordering: .relaxed) }
}

private enum JobProbe {
    nonisolated(unsafe) static var ran: Tally?
}

private enum FakeScheduler {
    static let seen = Mutex<[String]>([])
}

private func withOptional<R>(_ string: String?, _ body: (UnsafePointer<CChar>?) -> R) -> R {
    guard let string else { return body(nil) }
    return string.withCString { body($0) }
}
