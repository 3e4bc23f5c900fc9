import CKernelABI
import Dispatch
import XCTest
@testable import KernelCore

/// Streams through the kernel: a starter that takes no items is refused a
/// streaming endpoint, `call_ready` reaches the handler's `on_ready`, an end
/// of items pushed while a middleware holds the call is kept for the handler,
/// and route parameters arrive percent-decoded.
final class StreamCallTests: XCTestCase {
    /// Counts what reaches a streaming endpoint's callbacks.
    final class Seen: @unchecked Sendable {
        var items: [[UInt8]] = []
        var readies = 0
        var call: OpaquePointer?
    }

    private func registerStream(_ plugin: OpaquePointer, _ name: String, kind: Int32, seen: Seen) -> kn_status {
        var def = kn_endpoint_def()
        def.struct_size = UInt32(MemoryLayout<kn_endpoint_def>.size)
        def.kind = UInt32(kind)
        def.user_data = Unmanaged.passRetained(seen).toOpaque()
        def.release = { Unmanaged<Seen>.fromOpaque($0!).release() }
        def.handler = { userData, call in Unmanaged<Seen>.fromOpaque(userData!).takeUnretainedValue().call = call }
        def.on_item = { userData, _, item in
            Unmanaged<Seen>.fromOpaque(userData!).takeUnretainedValue().items.append(item.array)
        }
        def.on_ready = { userData, _ in Unmanaged<Seen>.fromOpaque(userData!).takeUnretainedValue().readies += 1 }
        return name.withCString { name in
            def.name = name
            return FakePlugins.host.pointee.register_endpoint(plugin, &def)
        }
    }

    func testAStarterThatTakesNoItemsIsRefusedAStream() throws {
        let kernel = try FakePlugins.makeKernel()
        let seen = Seen()
        try FakePlugins.load(kernel, "a") { self.registerStream($0, "ticks", kind: KN_ENDPOINT_SERVER_STREAM, seen: seen) }
        let outcome = try XCTUnwrap(call(kernel, "ticks"))
        XCTAssertEqual(outcome.status, KN_ERR_INVALID_ARGUMENT)
        XCTAssertTrue(outcome.message.contains("streams; its caller must take items"), outcome.message)
        XCTAssertNil(seen.call, "the handler ran for a caller that cannot take its items")
    }

    func testReadyReachesTheHandlerAndAnEarlyEndIsKeptForIt() throws {
        let kernel = try FakePlugins.makeKernel()
        let seen = Seen()
        var held: OpaquePointer?
        try FakePlugins.load(kernel, "a") { plugin in
            plugin.middleware("hold", order: 0, Handler { held = $0 }) // passes on later
            return self.registerStream(plugin, "chat", kind: KN_ENDPOINT_BIDI_STREAM, seen: seen)
        }
        let starter = Call(kernel: kernel, protocolName: "test")
        starter.setEndpoint("chat")
        var callbacks = CompletionBox.callbacks { _ in }
        callbacks.on_item = { _, _ in true }
        starter.dispatch(callbacks)
        let middlewareHolds = try XCTUnwrap(held)

        // The client ends its items while the middleware still holds the call.
        XCTAssertEqual(starter.push(.empty), KN_OK)
        XCTAssertTrue(seen.items.isEmpty)
        FakePlugins.host.pointee.call_next(middlewareHolds)
        XCTAssertEqual(seen.items, [[]], "the end pushed early never reached the handler")

        starter.ready()
        starter.ready()
        XCTAssertEqual(seen.readies, 2)
        var done = "{}"
        let handlerCall = try XCTUnwrap(seen.call)
        done.withUTF8 { _ = FakePlugins.host.pointee.call_respond(handlerCall, kn_bytes(ptr: $0.baseAddress, len: $0.count), "application/json") }
        starter.ready()
        XCTAssertEqual(seen.readies, 2, "on_ready ran after completion")
    }

    func testRouteParametersArrivePercentDecoded() {
        XCTAssertEqual(percentDecoded("a%20b"), "a b")
        XCTAssertEqual(percentDecoded("%C3%A9t%C3%A9"), "été")
        XCTAssertEqual(percentDecoded("plain"), "plain")
        XCTAssertEqual(percentDecoded("100%"), "100%", "a malformed escape is kept as it came")
        XCTAssertEqual(percentDecoded("%zz"), "%zz")
        XCTAssertEqual(percentDecoded("%FF"), "%FF", "invalid UTF-8 is kept as it came")
        XCTAssertEqual(percentDecoded("a%00b"), "a%00b", "a NUL is kept escaped")
    }
}
