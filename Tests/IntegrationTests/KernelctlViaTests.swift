import Foundation
import XCTest

/// `kernelctl call --via http|ws|tcp` (KernelClient underneath): the same
/// answer over each protocol, streams printed item by item, and refusals
/// reported like the admin path's. Ports come from the admin `status`.
final class KernelctlViaTests: IntegrationTestCase {
    func testCallViaEachProtocolAndAStream() throws {
        let (kernel, _, _) = try startKernelWithAllTransports()
        for via in ["http", "ws", "tcp"] {
            let result = try kernelctl(kernel, ["call", "greet", #"{"name":"ada"}"#, "--via", via])
            XCTAssertEqual(result.status, 0, "\(via): \(result.stderr)")
            let json = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
            XCTAssertEqual(json?["message"] as? String, "hello, ada", "\(via): \(result.stdout)")

            let denied = try kernelctl(kernel, ["call", "hello", "--via", via, "--meta", "x-deny=1"])
            XCTAssertEqual(denied.status, 1, "\(via): \(denied.stdout)")
            XCTAssertTrue(denied.stderr.hasPrefix("kernelctl: unauthorized"), "\(via): \(denied.stderr)")
        }
        for via in ["http", "ws", "tcp"] {
            let ticks = try kernelctl(kernel, ["call", "hello.ticker", #"{"count":4,"intervalMs":10}"#, "--via", via])
            XCTAssertEqual(ticks.status, 0, "\(via): \(ticks.stderr)")
            let lines = ticks.stdout.split(separator: "\n").compactMap {
                try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
            }
            XCTAssertEqual(lines.map { $0["n"] as? Int ?? 0 }, [1, 2, 3, 4], "\(via): \(ticks.stdout)")
        }
    }
}
