import Foundation
import XCTest

/// Protocols/kn_plugin.h as a C compiler sees it: its opening example builds
/// warning-free, its entry prototype catches a mismatched definition, its
/// status helpers return the documented names, and it stays valid C++.
final class HeaderTests: XCTestCase {
    private var directory = ""

    override func setUpWithError() throws {
        directory = try makeTemporaryDirectory("kn-header")
    }

    override func tearDown() {
        if (testRun?.totalFailureCount ?? 0) == 0 {
            try? FileManager.default.removeItem(atPath: directory)
        } else {
            print("HeaderTests: files kept in \(directory)")
        }
        super.tearDown()
    }

    private var header: String { Products.protocolsDirectory + "/kn_plugin.h" }

    /// Runs `cc` (or `c++`) with `arguments` in the test's directory.
    private func compile(_ arguments: [String], with compiler: String = "cc") throws -> ProgramResult {
        let result = try runProgram("/usr/bin/env", [compiler] + arguments, workDirectory: directory, timeout: 120)
        XCTAssertFalse(result.timedOut, "\(compiler) \(arguments) did not finish")
        return result
    }

    private func write(_ source: String, _ name: String) throws -> String {
        let path = directory + "/" + name
        try source.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// The lines between ` *   --- example: hello.c ---` and
    /// ` *   --- end of example ---`, without the comment's ` *     ` indentation.
    static func openingExample(of headerText: String) throws -> String {
        let lines = headerText.components(separatedBy: "\n")
        guard let start = lines.firstIndex(where: { $0.contains("--- example: hello.c ---") }),
              let end = lines[start...].firstIndex(where: { $0.contains("--- end of example ---") })
        else { throw SetupError("kn_plugin.h has no `--- example: hello.c ---` ... `--- end of example ---` block") }
        let prefix = " *     "
        let code = try lines[(start + 1)..<end].map { line -> String in
            if line.hasPrefix(prefix) { return String(line.dropFirst(prefix.count)) }
            if line.trimmingCharacters(in: .whitespaces) == "*" { return "" }
            throw SetupError("example line without the \"\(prefix)\" indentation: \(line)")
        }
        return code.joined(separator: "\n") + "\n"
    }

    func testOpeningExampleCompilesWithoutWarnings() throws {
        let example = try Self.openingExample(of: String(contentsOfFile: header, encoding: .utf8))
        XCTAssertTrue(example.contains("kn_plugin_entry"), example)
        let source = try write(example, "file.c")
        let result = try compile(["-std=c99", "-Wall", "-Wextra", "-Werror", "-shared", "-fPIC",
                                  "-I", Products.protocolsDirectory, "-o", directory + "/lib.so", source])
        XCTAssertEqual(result.status, 0, "the example of kn_plugin.h does not compile:\n\(result.stderr)\(result.stdout)\n---\n\(example)")
    }

    /// Uses the helpers, and defines kn_plugin_entry with the wrong type.
    static let mismatchedEntry = #"""
    #include "kn_plugin.h"

    static int helpers(const kn_host_api *host) {
        int ready = KN_HOST_HAS(host, call_ready) ? 1 : 0;
        return kn_status_http(KN_ERR_NOT_FOUND) + ready + (int)kn_status_name(KN_OK)[0];
    }

    KN_EXPORT int kn_plugin_entry(const kn_host_api *host) {
        return helpers(host);
    }
    """#

    func testEntryPointDefinitionIsCheckedAgainstThePrototype() throws {
        let source = try write(Self.mismatchedEntry, "mismatched.c")
        let common = ["-std=c99", "-Wall", "-Wextra", "-shared", "-fPIC", "-I", Products.protocolsDirectory,
                      "-o", directory + "/mismatched.so", source]
        // Without the prototype the same file builds: the helpers are fine, only the entry type is wrong.
        let withoutPrototype = try compile(["-DKN_NO_ENTRY_PROTOTYPE"] + common)
        XCTAssertEqual(withoutPrototype.status, 0, withoutPrototype.stderr)

        let checked = try compile(common)
        XCTAssertNotEqual(checked.status, 0, "a kn_plugin_entry returning int compiled against kn_plugin.h")
        XCTAssertTrue(checked.stderr.contains("kn_plugin_entry"), "cc should name kn_plugin_entry:\n\(checked.stderr)")
    }

    static let statusNames = #"""
    #include <stdio.h>
    #include "kn_plugin.h"

    int main(void) {
        kn_status codes[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 99};
        for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
            printf("%d %s %d\n", (int)codes[i], kn_status_name(codes[i]), kn_status_http(codes[i]));
        return 0;
    }
    """#

    func testStatusNamesAndHTTPStatuses() throws {
        let source = try write(Self.statusNames, "names.c")
        let program = directory + "/names"
        let built = try compile(["-std=c99", "-Wall", "-Wextra", "-Werror", "-I", Products.protocolsDirectory,
                                 "-o", program, source])
        XCTAssertEqual(built.status, 0, built.stderr)
        guard built.status == 0 else { return }
        let run = try runProgram(program, [], workDirectory: directory, timeout: 30)
        XCTAssertEqual(run.status, 0, run.stderr)
        let expected = [
            "0 ok 200", "1 invalid_argument 400", "2 not_found 404", "3 validation 422", "4 conflict 409",
            "5 unauthorized 401", "6 forbidden 403", "7 rate_limited 429", "8 too_large 413", "9 timeout 504",
            "10 unavailable 503", "11 cancelled 499", "12 internal 500", "13 method_not_allowed 405",
            "14 already_completed 500", "99 internal 500",
        ]
        XCTAssertEqual(run.stdout.split(separator: "\n").map(String.init), expected)
    }

    func testHeadersAreValidCPlusPlusAndStrictC() throws {
        for name in ["kn_plugin.h", "kn_storage.h"] {
            let path = Products.protocolsDirectory + "/" + name
            let cxx = try compile(["-fsyntax-only", "-x", "c++", "-Wall", "-Wextra", "-Werror",
                                   "-I", Products.protocolsDirectory, path], with: "c++")
            XCTAssertEqual(cxx.status, 0, "\(name) as C++:\n\(cxx.stderr)")
            let c = try compile(["-fsyntax-only", "-x", "c", "-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic",
                                 "-I", Products.protocolsDirectory, path])
            XCTAssertEqual(c.status, 0, "\(name) as C99:\n\(c.stderr)")
        }
    }
}
