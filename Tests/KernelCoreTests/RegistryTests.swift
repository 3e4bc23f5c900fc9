import TopicPatterns
import CKernelABI
import Dispatch
import XCTest
@testable import KernelCore

final class RegistryTests: XCTestCase {
    func testAnEndpointNameBelongsToOnePlugin() throws {
        let kernel = try FakePlugins.makeKernel()
        try FakePlugins.load(kernel, "a") { $0.endpoint("shared", Handler { $0.respond("a") }) }
        var status: kn_status = KN_OK
        XCTAssertThrowsError(try FakePlugins.load(kernel, "b") { plugin in
            status = plugin.endpoint("shared", Handler { $0.respond("b") })
            return status
        })
        XCTAssertEqual(status, KN_ERR_CONFLICT)
        XCTAssertEqual(String(decoding: try XCTUnwrap(call(kernel, "shared")).body, as: UTF8.self), "a")
    }

    func testUnloadRemovesEveryRegistrationAndReleasesUserData() throws {
        let kernel = try FakePlugins.makeKernel()
        let endpoint = Handler { $0.respond("x") }
        let middleware = Handler { FakePlugins.host.pointee.call_next($0) }
        try FakePlugins.load(kernel, "a") { plugin in
            plugin.middleware("m", order: 0, middleware)
            return plugin.endpoint("x", endpoint)
        }
        XCTAssertEqual(try XCTUnwrap(call(kernel, "x")).status, KN_OK)
        try kernel.control.sync { try kernel.unload(name: "a") }
        XCTAssertEqual(try XCTUnwrap(call(kernel, "x")).status, KN_ERR_NOT_FOUND)
        XCTAssertTrue(kernel.registry.allMiddleware.isEmpty)
        XCTAssertTrue(endpoint.released)
        XCTAssertTrue(middleware.released)
    }

    func testFailedInitLeavesNothingBehind() throws {
        let kernel = try FakePlugins.makeKernel()
        let handler = Handler { $0.respond("x") }
        XCTAssertThrowsError(try FakePlugins.load(kernel, "a") { plugin in
            plugin.endpoint("half", handler)
            FakePlugins.host.pointee.set_error(plugin, "boom")
            return KN_ERR_INTERNAL
        }) { error in
            XCTAssertTrue("\(error)".contains("boom"), "\(error)")
        }
        XCTAssertEqual(try XCTUnwrap(call(kernel, "half")).status, KN_ERR_NOT_FOUND)
        XCTAssertTrue(handler.released)
    }

    func testReloadSwitchesNewCallsAndDrainsTheOldVersion() throws {
        let kernel = try FakePlugins.makeKernel()
        let held = OutcomeHolder()
        var heldCall: OpaquePointer?
        let old = try FakePlugins.load(kernel, "a") { plugin in
            plugin.endpoint("x", Handler { call in
                if heldCall == nil { heldCall = call } else { call.respond("v1") }
            })
        }
        // A call in flight in the old version.
        let first = Call(kernel: kernel, protocolName: "test")
        first.setEndpoint("x")
        let firstDone = DispatchSemaphore(value: 0)
        first.dispatch(CompletionBox.callbacks { outcome in
            held.outcome = outcome
            firstDone.signal()
        })
        XCTAssertEqual(old.callsInFlight, 1)
        // Complete it while the reload waits for the drain.
        let pending = UncheckedSendable(heldCall!)
        DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(200)) { pending.value.respond("v1-late") }
        let new = try FakePlugins.load(kernel, "a", replacing: old) { plugin in
            plugin.endpoint("x", Handler { $0.respond("v2") })
        }
        // New calls reach v2 while the old version is still draining.
        XCTAssertEqual(String(decoding: try XCTUnwrap(call(kernel, "x")).body, as: UTF8.self), "v2")
        kernel.control.sync { kernel.retire(old) }
        XCTAssertEqual(firstDone.wait(timeout: .now() + 5), .success)
        XCTAssertEqual(String(decoding: held.outcome!.body, as: UTF8.self), "v1-late")
        XCTAssertEqual(old.callsInFlight, 0)
        XCTAssertEqual(old.state, .stopped)
        XCTAssertEqual(new.state, .running)
    }

    func testRoutesCaptureParametersAndTellMethodNotAllowed() throws {
        let kernel = try FakePlugins.makeKernel()
        try FakePlugins.load(kernel, "a") { plugin in
            var def = kn_route_def()
            def.struct_size = UInt32(MemoryLayout<kn_route_def>.size)
            return "GET".withCString { method in
                "/users/:id/files/*".withCString { path in
                    "files.get".withCString { endpoint in
                        def.method = method
                        def.path = path
                        def.endpoint = endpoint
                        return FakePlugins.host.pointee.register_route(plugin, &def)
                    }
                }
            }
        }
        guard case .matched(let endpoint, let parameters) = kernel.registry.route(method: "GET", path: "/users/7/files/a/b.txt") else {
            return XCTFail("route did not match")
        }
        XCTAssertEqual(endpoint, "files.get")
        XCTAssertEqual(parameters.map(\.0), ["id", "*"])
        XCTAssertEqual(parameters.map(\.1), ["7", "a/b.txt"])
        guard case .methodNotAllowed = kernel.registry.route(method: "POST", path: "/users/7/files/x") else {
            return XCTFail("POST should be method not allowed")
        }
        guard case .notFound = kernel.registry.route(method: "GET", path: "/users/7") else {
            return XCTFail("a shorter path should not match")
        }
    }

    func testTopicPatterns() {
        XCTAssertTrue(TopicPattern("orders.*").matches("orders.created"))
        XCTAssertFalse(TopicPattern("orders.*").matches("orders.created.eu"))
        XCTAssertTrue(TopicPattern("orders.#").matches("orders.created.eu"))
        XCTAssertTrue(TopicPattern("orders.#").matches("orders"))
        XCTAssertFalse(TopicPattern("orders.#").matches("users.created"))
        XCTAssertTrue(TopicPattern("*.created").matches("users.created"))
        XCTAssertTrue(TopicPattern("#").matches("anything.at.all"))
        XCTAssertTrue(TopicPattern("a.*.c").matches("a.b.c"))
        XCTAssertFalse(TopicPattern("a.*.c").matches("a.b"))
        XCTAssertFalse(TopicPattern("a.b").matches("a.bc"))
        XCTAssertFalse(TopicPattern("a.b").matches("a"))
        XCTAssertFalse(TopicPattern("a.b.#").matches("a"))
        XCTAssertTrue(TopicPattern("kernel.plugin.#").matches("kernel.plugin.loaded"))
        XCTAssertFalse(TopicPattern("kernel.plugin.#").matches("job.started"))
    }

    func testConfigurationFileAndOverrides() throws {
        var configuration = try Configuration(parsing: """
            # comment
            [kernel]
            drain_timeout_ms = 500
            [http]
            port = 8080
            host = "127.0.0.1"
            """)
        try configuration.set("http.port=0")
        XCTAssertEqual(configuration.section("http")["port"], "0")
        XCTAssertEqual(configuration.section("http")["host"], "127.0.0.1")
        XCTAssertEqual(configuration.integer("kernel", "drain_timeout_ms", default: 1), 500)
        XCTAssertThrowsError(try configuration.set("nodot=1"))
        XCTAssertThrowsError(try Configuration(parsing: "[broken"))
    }
}
