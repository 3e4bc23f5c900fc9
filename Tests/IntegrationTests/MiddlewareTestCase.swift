import Foundation
import XCTest

/// Kernels with the middleware plugins and the `mwprobe` fixture on http,
/// ws and tcp.
class MiddlewareTestCase: IntegrationTestCase {
    static let middlewarePlugins = ["libhttp.so", "libws.so", "libtcp.so", "libobserve.so", "libguard.so", "libmwprobe.so"]

    struct Stack {
        let kernel: KernelProcess
        let ws: Int
        let tcp: Int
        var http: Int { kernel.httpPort }
    }

    func startStack(extraPlugins: [String] = [], settings: [String] = [],
                    file: StaticString = #filePath, line: UInt = #line) throws -> Stack {
        let kernel = try startKernel(plugins: Self.middlewarePlugins + extraPlugins,
                                     settings: ["ws.port=0", "tcp.port=0"] + settings, file: file, line: line)
        return Stack(kernel: kernel, ws: try kernel.listenerPort("ws"), tcp: try kernel.listenerPort("tcp"))
    }

    /// The envelope clients of a stack, closed by the caller.
    func envelopeClients(_ stack: Stack) throws -> [(name: String, client: EnvelopeTestClient)] {
        [("ws", try WSTestClient(port: stack.ws)), ("tcp", try TCPTestClient(port: stack.tcp))]
    }
}

extension [String: Any] {
    /// `error.details` of an envelope error.
    var envelopeErrorDetails: [String: Any]? { (self["error"] as? [String: Any])?["details"] as? [String: Any] }
    var envelopeMeta: [String: String]? { self["meta"] as? [String: String] }
}
