import Foundation
import KernelCore

/// ns per call through the kernel's dispatch path — call_new, set_endpoint,
/// registry lookup, three middleware and the handler in a C plugin, the
/// completion callback, call_release — next to direct Swift closures doing
/// the same steps.
///
/// Usage: DispatchBenchmark <directory holding libdispatch.so> [iterations]

let arguments = CommandLine.arguments
guard arguments.count >= 2 else {
    FileHandle.standardError.write(Data("usage: DispatchBenchmark <plugins dir> [iterations]\n".utf8))
    exit(2)
}
let iterations = arguments.count > 2 ? Int(arguments[2]) ?? 1_000_000 : 1_000_000
let scratch = NSTemporaryDirectory() + "dispatch-bench-\(getpid())"

func nanoseconds(_ body: () -> Void) -> Double {
    var start = timespec()
    var end = timespec()
    clock_gettime(CLOCK_MONOTONIC, &start)
    body()
    clock_gettime(CLOCK_MONOTONIC, &end)
    return Double(end.tv_sec - start.tv_sec) * 1e9 + Double(end.tv_nsec - start.tv_nsec)
}

/// The median of five timed runs, in ns per iteration.
func measure(_ iterations: Int, _ body: () -> Void) -> Double {
    for _ in 0..<(iterations / 10) { body() } // warm up
    let runs = (0..<5).map { _ in nanoseconds { for _ in 0..<iterations { body() } } / Double(iterations) }
    return runs.sorted()[2]
}

// MARK: Through the kernel

let kernel = try Kernel(options: .init(
    pluginsDirectory: arguments[1], dataDirectory: scratch, socketPath: scratch + "/kernel.sock",
    configuration: Configuration()))
try kernel.start()
guard let plugin = kernel.handle(ofPlugin: "dispatch") else {
    FileHandle.standardError.write(Data("libdispatch.so did not load from \(arguments[1])\n".utf8))
    exit(1)
}
let host = Kernel.hostTable.pointee
nonisolated(unsafe) var completed = 0
var callbacks = kn_call_callbacks()
callbacks.struct_size = UInt32(MemoryLayout<kn_call_callbacks>.size)
callbacks.on_complete = { _, response in
    if response!.pointee.status == KN_OK { completed += 1 }
}
let kernelNanoseconds = measure(iterations) {
    let call = host.call_new(plugin, "bench")
    _ = host.call_set_endpoint(call, "dispatch.hello")
    host.call_dispatch(call, &callbacks)
    host.call_release(call)
}
precondition(completed >= iterations, "calls did not complete")

// MARK: Direct Swift closures, same steps

struct Request {
    let endpoint: String
    let body: [UInt8]
}

/// Three middleware closures that pass on, a handler closure that answers,
/// a completion closure: the same steps as the kernel's path, with no ABI.
final class DirectChain {
    typealias Middleware = (Request, () -> Void) -> Void
    let middleware: [Middleware] = (0..<3).map { _ in { _, next in next() } }
    let answer = Array(#"{"message":"hello"}"#.utf8)
    var completed = 0

    func run(_ request: Request, _ index: Int, _ complete: @escaping ([UInt8]) -> Void) {
        if index < middleware.count {
            middleware[index](request) { self.run(request, index + 1, complete) }
        } else {
            complete(answer)
        }
    }
}
let direct = DirectChain()
let directNanoseconds = measure(iterations) {
    direct.run(Request(endpoint: "dispatch.hello", body: []), 0) { bytes in direct.completed += bytes.isEmpty ? 0 : 1 }
}

kernel.shutdown()
let overhead = kernelNanoseconds - directNanoseconds
print(String(format: "{\"kernel_ns\": %.1f, \"direct_ns\": %.1f, \"overhead_ns\": %.1f, \"iterations\": %d}",
             kernelNanoseconds, directNanoseconds, overhead, iterations))
