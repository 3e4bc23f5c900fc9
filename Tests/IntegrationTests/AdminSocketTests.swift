import Foundation
import XCTest

/// The admin socket serves the kernel's own user and root only, by the
/// peer's credentials, not only by the socket file's mode.
final class AdminSocketTests: IntegrationTestCase {
    func testAnotherUsersConnectionIsRefusedByItsCredentials() throws {
        guard getuid() == 0, FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv"),
              FileManager.default.isExecutableFile(atPath: "/usr/bin/python3") else {
            throw XCTSkip("needs root, setpriv and the system python3 to connect as another user")
        }
        let kernel = try startKernel()
        // Open the path and the socket to everyone: the file's mode no longer stops anyone.
        XCTAssertEqual(chmod(kernel.root, 0o755), 0)
        XCTAssertEqual(chmod(kernel.socketPath, 0o666), 0)
        let script = """
            import socket, sys
            s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
            print(s.makefile().readline().strip())  # refused at once, before any request
            """
        let result = try runProgram("/usr/bin/setpriv", ["--reuid=nobody", "--regid=nogroup", "--clear-groups",
                                                         "/usr/bin/python3", "-c", script, kernel.socketPath],
                                    workDirectory: NSTemporaryDirectory())
        XCTAssertEqual(result.status, 0, result.stderr)
        let answer = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any], result.stdout)
        XCTAssertEqual(answer["ok"] as? Bool, false)
        XCTAssertEqual((answer["error"] as? [String: Any])?["code"] as? String, "forbidden", result.stdout)
        XCTAssertNotNil(kernel.waitForLogLine(containing: ["refused a connection from uid 65534"]), kernel.log())
        // The kernel's own user still gets answers.
        XCTAssertNotNil(try kernel.adminResult("status")["plugins"])
    }
}
