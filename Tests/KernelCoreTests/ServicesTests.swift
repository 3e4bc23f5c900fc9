import CKernelABI
import Dispatch
import XCTest
@testable import KernelCore

/// Services, jobs and events through the host API table, as plugins use them.
final class ServicesTests: XCTestCase {
    /// A service table as a provider would publish it: size first, then functions.
    struct MathTable {
        var struct_size: UInt32
        var add: @convention(c) (Int64, Int64) -> Int64
    }

    func testServicesAreFoundByNameMajorAndMinimumMinor() throws {
        let kernel = try FakePlugins.makeKernel()
        let table = UnsafeMutablePointer<MathTable>.allocate(capacity: 1)
        table.initialize(to: MathTable(struct_size: UInt32(MemoryLayout<MathTable>.size), add: { $0 + $1 }))
        defer { table.deallocate() }
        try FakePlugins.load(kernel, "math") { plugin in
            FakePlugins.host.pointee.register_service(plugin, "math", 1, 2, table)
        }
        var found: UnsafeRawPointer?
        var minor: UInt32 = 0
        var tooNew: kn_status = KN_OK
        var otherMajor: kn_status = KN_OK
        try FakePlugins.load(kernel, "user") { plugin in
            let host = FakePlugins.host.pointee
            tooNew = host.lookup_service(plugin, "math", 1, 3, &found, &minor)
            otherMajor = host.lookup_service(plugin, "math", 2, 0, &found, &minor)
            return host.lookup_service(plugin, "math", 1, 1, &found, &minor)
        }
        XCTAssertEqual(tooNew, KN_ERR_NOT_FOUND)
        XCTAssertEqual(otherMajor, KN_ERR_NOT_FOUND)
        XCTAssertEqual(minor, 2)
        let math = try XCTUnwrap(found).assumingMemoryBound(to: MathTable.self).pointee
        XCTAssertEqual(math.add(40, 2), 42)

        // A second provider of the same name and major is refused.
        var duplicate: kn_status = KN_OK
        XCTAssertThrowsError(try FakePlugins.load(kernel, "math2") { plugin in
            duplicate = FakePlugins.host.pointee.register_service(plugin, "math", 1, 0, table)
            return duplicate
        })
        XCTAssertEqual(duplicate, KN_ERR_CONFLICT)
    }

    func testJobRunDeliversThePayloadAndTheOutcome() throws {
        let kernel = try FakePlugins.makeKernel()
        let plugin = try FakePlugins.load(kernel, "jobs") { plugin in
            var def = kn_job_def()
            def.struct_size = UInt32(MemoryLayout<kn_job_def>.size)
            def.handler = Handler.trampoline
            def.user_data = Handler { call in
                let body = FakePlugins.host.pointee.call_body(call)
                var attempt = kn_bytes()
                _ = FakePlugins.host.pointee.call_meta_get(call, "job.attempt", &attempt)
                let text = String(decoding: UnsafeBufferPointer(start: body.ptr, count: body.len), as: UTF8.self)
                let number = String(decoding: UnsafeBufferPointer(start: attempt.ptr, count: attempt.len), as: UTF8.self)
                call.respond("\(text) attempt \(number)")
            }.userData
            def.release = Handler.release
            return "report".withCString { name in
                def.name = name
                return FakePlugins.host.pointee.register_job(plugin, &def)
            }
        }
        let done = DispatchSemaphore(value: 0)
        let holder = OutcomeHolder()
        var callbacks = CompletionBox.callbacks { outcome in
            holder.outcome = outcome
            done.signal()
        }
        let payload = Array("nightly".utf8)
        let status = payload.withUnsafeBufferPointer {
            FakePlugins.host.pointee.job_run(plugin.handle, "report", kn_bytes(ptr: $0.baseAddress, len: $0.count), &callbacks)
        }
        XCTAssertEqual(status, KN_OK)
        XCTAssertEqual(done.wait(timeout: .now() + 5), .success)
        XCTAssertEqual(String(decoding: holder.outcome!.body, as: UTF8.self), "nightly attempt 1")
        XCTAssertEqual(FakePlugins.host.pointee.job_run(plugin.handle, "missing", kn_bytes(), &callbacks), KN_ERR_NOT_FOUND)
    }

    func testEventsReachMatchingHandlersInPublishOrder() throws {
        let kernel = try FakePlugins.makeKernel()
        final class Received: @unchecked Sendable {
            var topics: [String] = []
            let done = DispatchSemaphore(value: 0)
        }
        let received = Received()
        let plugin = try FakePlugins.load(kernel, "events") { plugin in
            var def = kn_event_handler_def()
            def.struct_size = UInt32(MemoryLayout<kn_event_handler_def>.size)
            def.user_data = Unmanaged.passUnretained(received).toOpaque()
            def.handler = { userData, event in
                let received = Unmanaged<Received>.fromOpaque(userData!).takeUnretainedValue()
                received.topics.append(String(cString: event!.pointee.topic))
                if received.topics.count == 3 { received.done.signal() }
            }
            return "orders.#".withCString { pattern in
                def.pattern = pattern
                return FakePlugins.host.pointee.register_event_handler(plugin, &def)
            }
        }
        for topic in ["orders.created", "users.created", "orders.paid", "orders.paid.eu"] {
            XCTAssertEqual(FakePlugins.host.pointee.publish(plugin.handle, topic, kn_bytes()), KN_OK)
        }
        XCTAssertEqual(received.done.wait(timeout: .now() + 5), .success)
        XCTAssertEqual(received.topics, ["orders.created", "orders.paid", "orders.paid.eu"])
        XCTAssertEqual(FakePlugins.host.pointee.publish(plugin.handle, "orders.*", kn_bytes()), KN_ERR_INVALID_ARGUMENT)
    }
}
