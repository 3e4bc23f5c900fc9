import CKernelABI
import Dispatch
import Glibc
import XCTest
@testable import KernelCore

/// Routing order, late resolution, cancellation before the handler, listeners.
final class RoutingAndLifecycleTests: XCTestCase {
    private func route(_ plugin: OpaquePointer, _ method: String, _ path: String, _ endpoint: String) -> kn_status {
        var def = kn_route_def()
        def.struct_size = UInt32(MemoryLayout<kn_route_def>.size)
        return method.withCString { method in
            path.withCString { path in
                endpoint.withCString { endpoint in
                    def.method = method
                    def.path = path
                    def.endpoint = endpoint
                    return FakePlugins.host.pointee.register_route(plugin, &def)
                }
            }
        }
    }

    func testTheMostSpecificRouteWinsWhateverTheRegistrationOrder() throws {
        let kernel = try FakePlugins.makeKernel()
        try FakePlugins.load(kernel, "a") { self.route($0, "GET", "/files/*", "files.any") }
        try FakePlugins.load(kernel, "b") { plugin in
            _ = self.route(plugin, "GET", "/files/:name", "files.named")
            return self.route(plugin, "GET", "/files/special", "files.special")
        }
        func endpoint(_ path: String) -> String? {
            if case .matched(let endpoint, _) = kernel.registry.route(method: "GET", path: path) { return endpoint }
            return nil
        }
        XCTAssertEqual(endpoint("/files/special"), "files.special")
        XCTAssertEqual(endpoint("/files/report"), "files.named")
        XCTAssertEqual(endpoint("/files/a/b"), "files.any")
    }

    func testRoutesOfTheSameShapeConflict() throws {
        let kernel = try FakePlugins.makeKernel()
        try FakePlugins.load(kernel, "a") { self.route($0, "GET", "/users/:id", "users.get") }
        var status: kn_status = KN_OK
        XCTAssertThrowsError(try FakePlugins.load(kernel, "b") { plugin in
            status = self.route(plugin, "GET", "/users/:uid", "other.get")
            return status
        })
        XCTAssertEqual(status, KN_ERR_CONFLICT)
    }

    func testTheEndpointIsResolvedAtDispatchNotWhenTargeted() throws {
        let kernel = try FakePlugins.makeKernel()
        try FakePlugins.load(kernel, "a") { $0.endpoint("x", Handler { $0.respond("x") }) }
        let call = Call(kernel: kernel, protocolName: "test")
        call.setEndpoint("x")
        try kernel.control.sync { try kernel.unload(name: "a") }
        let done = DispatchSemaphore(value: 0)
        let holder = OutcomeHolder()
        call.dispatch(CompletionBox.callbacks { outcome in
            holder.outcome = outcome
            done.signal()
        })
        XCTAssertEqual(done.wait(timeout: .now() + 5), .success)
        XCTAssertEqual(holder.outcome?.status, KN_ERR_NOT_FOUND, "an unloaded plugin's handler must not run")
    }

    func testACallCancelledInItsMiddlewareNeverReachesTheHandler() throws {
        let kernel = try FakePlugins.makeKernel()
        var held: OpaquePointer?
        var handlerRan = false
        try FakePlugins.load(kernel, "a") { plugin in
            plugin.middleware("slow", order: 0, Handler { held = $0 }) // passes on later
            return plugin.endpoint("x", Handler { call in
                handlerRan = true
                call.respond("x")
            })
        }
        let call = Call(kernel: kernel, protocolName: "test")
        call.setEndpoint("x")
        let holder = OutcomeHolder()
        call.dispatch(CompletionBox.callbacks { holder.outcome = $0 })
        XCTAssertNotNil(held)
        call.cancel()
        FakePlugins.host.pointee.call_next(held!)
        XCTAssertFalse(handlerRan)
        XCTAssertEqual(holder.outcome?.status, KN_ERR_CANCELLED)
    }

    func testListenersAreSharedAcrossReloadsAndClosedWhenDropped() throws {
        let pool = ListenerPool()
        let first = try pool.listen(plugin: "http", host: "127.0.0.1", port: 0).get()
        let second = try pool.listen(plugin: "http", host: "127.0.0.1", port: 0).get()
        XCTAssertEqual(first.port, second.port, "a reload must get the same socket")
        close(first.fd)
        close(second.fd)
        pool.close(plugin: "http", keeping: [ListenerPool.key(host: "127.0.0.1", port: 0)])
        XCTAssertTrue(canConnect(first.port), "kept listener closed")
        pool.close(plugin: "http")
        XCTAssertFalse(canConnect(first.port), "dropped listener still accepts")
    }

    private func canConnect(_ port: UInt16) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        } == 0
    }
}
