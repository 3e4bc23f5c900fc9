import CKernelABI
import Dispatch
import XCTest
@testable import KernelCore

final class DispatchTests: XCTestCase {
    func testMiddlewareRunsInOrderThenHandler() throws {
        let kernel = try FakePlugins.makeKernel()
        var trail: [String] = []
        func passing(_ name: String) -> Handler {
            Handler { call in
                trail.append(name)
                FakePlugins.host.pointee.call_next(call)
            }
        }
        try FakePlugins.load(kernel, "a") { plugin in
            plugin.middleware("late", order: 20, passing("late"))
            plugin.middleware("early-1", order: 10, passing("early-1"))
            plugin.middleware("early-2", order: 10, passing("early-2"))
            plugin.middleware("users-only", order: 0, endpoints: "users.*", passing("users-only"))
            return plugin.endpoint("hello", Handler { call in
                trail.append("handler")
                call.respond("hi")
            })
        }
        let outcome = try XCTUnwrap(call(kernel, "hello"))
        XCTAssertEqual(outcome.status, KN_OK)
        XCTAssertEqual(String(decoding: outcome.body, as: UTF8.self), "hi")
        XCTAssertEqual(trail, ["early-1", "early-2", "late", "handler"])
    }

    func testMiddlewareShortCircuitsWithoutReachingTheHandler() throws {
        let kernel = try FakePlugins.makeKernel()
        var handlerRan = false
        try FakePlugins.load(kernel, "a") { plugin in
            plugin.middleware("deny", order: 0, Handler { call in
                _ = FakePlugins.host.pointee.call_fail(call, KN_ERR_UNAUTHORIZED, "no token", kn_bytes())
            })
            return plugin.endpoint("secret", Handler { call in
                handlerRan = true
                call.respond("secret")
            })
        }
        let outcome = try XCTUnwrap(call(kernel, "secret"))
        XCTAssertEqual(outcome.status, KN_ERR_UNAUTHORIZED)
        XCTAssertEqual(outcome.message, "no token")
        XCTAssertFalse(handlerRan)
    }

    func testMiddlewareMetadataReachesTheHandler() throws {
        let kernel = try FakePlugins.makeKernel()
        try FakePlugins.load(kernel, "a") { plugin in
            plugin.middleware("auth", order: 0, Handler { call in
                var subject = Array("alice".utf8)
                let count = subject.count
                subject.withUnsafeMutableBufferPointer {
                    _ = FakePlugins.host.pointee.call_meta_set(call, "auth.subject", kn_bytes(ptr: $0.baseAddress, len: count))
                }
                FakePlugins.host.pointee.call_next(call)
            })
            return plugin.endpoint("whoami", Handler { call in
                var value = kn_bytes()
                let found = FakePlugins.host.pointee.call_meta_get(call, "auth.subject", &value)
                call.respond(found ? String(decoding: UnsafeBufferPointer(start: value.ptr, count: value.len), as: UTF8.self) : "nobody")
            })
        }
        let outcome = try XCTUnwrap(call(kernel, "whoami"))
        XCTAssertEqual(String(decoding: outcome.body, as: UTF8.self), "alice")
    }

    func testUnknownEndpointIsNotFound() throws {
        let kernel = try FakePlugins.makeKernel()
        let outcome = try XCTUnwrap(call(kernel, "missing"))
        XCTAssertEqual(outcome.status, KN_ERR_NOT_FOUND)
        XCTAssertTrue(outcome.message.contains("missing"))
    }

    func testACallCompletesExactlyOnce() throws {
        let kernel = try FakePlugins.makeKernel()
        var second: kn_status = KN_OK
        try FakePlugins.load(kernel, "a") { plugin in
            plugin.endpoint("twice", Handler { call in
                call.respond("first")
                // The call pointer is only valid until completion; completing
                // twice from within the handler is the one safe way to try it.
                second = FakePlugins.host.pointee.call_fail(call, KN_ERR_INTERNAL, "second", kn_bytes())
            })
        }
        let outcome = try XCTUnwrap(call(kernel, "twice"))
        XCTAssertEqual(String(decoding: outcome.body, as: UTF8.self), "first")
        XCTAssertEqual(second, KN_ERR_ALREADY_COMPLETED)
    }

    func testCompletionFromAnotherThread() throws {
        let kernel = try FakePlugins.makeKernel()
        try FakePlugins.load(kernel, "a") { plugin in
            plugin.endpoint("later", Handler { call in
                let handle = UncheckedSendable(call)
                DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(20)) { handle.value.respond("done") }
            })
        }
        let outcome = try XCTUnwrap(call(kernel, "later"))
        XCTAssertEqual(String(decoding: outcome.body, as: UTF8.self), "done")
    }
}
