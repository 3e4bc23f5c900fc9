import CKernelABI
import Glibc
@testable import KernelCore

/// Plugins made in the test process: a descriptor whose init runs a Swift
/// closure, so registry and dispatch are tested without dlopen.
enum FakePlugins {
    nonisolated(unsafe) static var initBody: ((OpaquePointer) -> kn_status)?
    nonisolated(unsafe) static var generation = 100

    static var host: UnsafePointer<kn_host_api> { UnsafePointer(HostAPI.table) }

    static func image(_ name: String, dependsOn: [String] = []) -> PluginImage {
        var descriptor = kn_plugin_descriptor()
        descriptor.struct_size = UInt32(MemoryLayout<kn_plugin_descriptor>.size)
        descriptor.abi_major = UInt16(KN_ABI_MAJOR)
        descriptor.name = UnsafePointer(strdup(name))
        descriptor.version = UnsafePointer(strdup("1.0.0"))
        descriptor.`init` = { handle in FakePlugins.initBody?(handle!) ?? KN_OK }
        generation += 1
        return PluginImage(
            sourcePath: "/fake/\(name).so", imagePath: "/fake/\(name).so", generation: generation, openStarted: 0,
            handle: dlopen(nil, RTLD_NOW), descriptor: descriptor, name: name, version: "1.0.0", summary: "",
            dependsOn: dependsOn, flags: 0)
    }

    /// Activates a fake plugin whose init runs `body`.
    @discardableResult
    static func load(_ kernel: Kernel, _ name: String, replacing old: PluginInstance? = nil,
                     _ body: @escaping (OpaquePointer) -> kn_status) throws -> PluginInstance {
        initBody = body
        defer { initBody = nil }
        return try kernel.control.sync { try kernel.activate(image(name), replacing: old) }
    }

    static func makeKernel(drainTimeoutMilliseconds: Int = 2_000) throws -> Kernel {
        let directory = "/tmp/kernel-unit-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        var configuration = Configuration()
        try configuration.set("kernel.drain_timeout_ms=\(drainTimeoutMilliseconds)")
        return try Kernel(options: .init(
            pluginsDirectory: directory + "/plugins", dataDirectory: directory + "/data",
            socketPath: directory + "/kernel.sock", configuration: configuration))
    }
}

/// A Swift closure as a C handler's user_data.
final class Handler {
    let body: (OpaquePointer) -> Void
    private(set) var released = false

    init(_ body: @escaping (OpaquePointer) -> Void) { self.body = body }

    var userData: UnsafeMutableRawPointer { Unmanaged.passRetained(self).toOpaque() }

    static let trampoline: kn_handler_fn = { userData, call in
        Unmanaged<Handler>.fromOpaque(userData!).takeUnretainedValue().body(call!)
    }

    static let release: kn_release_fn = { userData in
        let handler = Unmanaged<Handler>.fromOpaque(userData!).takeRetainedValue()
        handler.released = true
    }
}

extension OpaquePointer {
    var host: kn_host_api { FakePlugins.host.pointee }

    /// Registers an endpoint that runs `body`.
    @discardableResult
    func endpoint(_ name: String, _ handler: Handler) -> kn_status {
        var def = kn_endpoint_def()
        def.struct_size = UInt32(MemoryLayout<kn_endpoint_def>.size)
        def.handler = Handler.trampoline
        def.user_data = handler.userData
        def.release = Handler.release
        return name.withCString { name in
            def.name = name
            return host.register_endpoint(self, &def)
        }
    }

    @discardableResult
    func middleware(_ name: String, order: Int32, endpoints: String = "*", _ handler: Handler) -> kn_status {
        var def = kn_middleware_def()
        def.struct_size = UInt32(MemoryLayout<kn_middleware_def>.size)
        def.order = order
        def.handler = Handler.trampoline
        def.user_data = handler.userData
        def.release = Handler.release
        return name.withCString { name in
            endpoints.withCString { endpoints in
                def.name = name
                def.endpoints = endpoints
                return host.register_middleware(self, &def)
            }
        }
    }

    func respond(_ text: String) {
        var text = text
        text.withUTF8 { _ = host.call_respond(self, kn_bytes(ptr: $0.baseAddress, len: $0.count), "text/plain") }
    }
}

/// Starts a call the way a transport does and waits for its outcome.
func call(_ kernel: Kernel, _ endpoint: String, timeoutSeconds: Int = 5) -> CallOutcome? {
    let done = DispatchSemaphore(value: 0)
    let box = OutcomeHolder()
    let call = Call(kernel: kernel, protocolName: "test")
    call.setEndpoint(endpoint)
    call.dispatch(CompletionBox.callbacks { outcome in
        box.outcome = outcome
        done.signal()
    })
    guard done.wait(timeout: .now() + .seconds(timeoutSeconds)) == .success else { return nil }
    return box.outcome
}

final class OutcomeHolder: @unchecked Sendable {
    var outcome: CallOutcome?
}

import Dispatch
