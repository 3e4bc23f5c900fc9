import Glibc
import XCTest
@testable import KernelCore

/// Inputs Tests/Fuzz found the kernel's own parsers getting wrong: route
/// patterns, the configuration file and the admin socket's line reader.
final class FuzzRegressionTests: XCTestCase {
    /// route-pattern: a combining mark after `/` forms one grapheme with it,
    /// so a split on Characters missed that slash.
    func testARouteSplitsAtEverySlashEvenBeforeACombiningMark() throws {
        let pattern = try XCTUnwrap(RoutePattern("/files/:name"))
        let captures = try XCTUnwrap(pattern.match("/files/\u{301}x"))
        XCTAssertEqual(captures.map { $0.0 }, ["name"])
        XCTAssertEqual(captures.map { $0.1 }, ["\u{301}x"])

        let literal = try XCTUnwrap(RoutePattern("\u{353}\u{FFFD}/"))
        XCTAssertEqual(literal.segments, [.literal("\u{353}\u{FFFD}")])
        XCTAssertEqual(RoutePattern(literal.description)?.segments, literal.segments, "the description parses back to the same pattern")
    }

    /// config: `[ ]` named a section "" that nothing reads, while `[]` was refused.
    func testABlankSectionHeaderIsRefusedLikeAnEmptyOne() throws {
        XCTAssertThrowsError(try Configuration(parsing: "[]"))
        XCTAssertThrowsError(try Configuration(parsing: "top = level\n[ ]\n  rate = 10/s\n"))
        XCTAssertEqual(try Configuration(parsing: "[ guard ]\nrate = 10/s").section("guard")["rate"], "10/s")
    }

    /// config: delimiters were found by Character, and `"` or `[` followed by
    /// a combining mark (U+0301) is one Character, so a quoted value kept its
    /// quotes and a section header was not one.
    func testQuotesAndBracketsAreFoundBeforeACombiningMark() throws {
        let configuration = try Configuration(parsing: "[\u{301}s]\nkey = \"\u{301}r;+e\"\nplain = \"x\"\n")
        XCTAssertEqual(configuration.section("\u{301}s"), ["key": "\u{301}r;+e", "plain": "x"])
    }

    /// config: "\r\n" is one Character, so a file with CRLF line ends was a
    /// single line, here a comment that hid the whole file.
    func testAFileWithCRLFLineEndsHasItsLines() throws {
        let configuration = try Configuration(parsing: "# settings\r\n[http]\r\nport = 8080\r\nhost = \"0.0.0.0\"\r\n")
        XCTAssertEqual(configuration.section("http"), ["port": "8080", "host": "0.0.0.0"])
    }

    /// config: U+070F (a prepended mark) and the space after it are one
    /// Character, so trimming by Character left the key with its trailing space.
    func testWhiteSpaceIsTrimmedAfterAPrependedMark() throws {
        XCTAssertEqual(try Configuration(parsing: "\u{70F} = \"sae\"").section("kernel"), ["\u{70F}": "sae"])
    }

    /// admin: a line over the limit passed when it arrived with its newline in one read.
    func testALineOverTheLimitIsRefusedEvenWhenItArrivesWhole() throws {
        var fds: [Int32] = [0, 0]
        XCTAssertEqual(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds), 0)
        defer {
            close(fds[0])
            close(fds[1])
        }
        let text = Array("{\"op\":\"status\"}\n0123456789abcdef\n0123456789abcdefX\n".utf8)
        XCTAssertEqual(text.withUnsafeBytes { write(fds[1], $0.baseAddress, $0.count) }, text.count)
        shutdown(fds[1], Int32(SHUT_WR))

        var reader = LineReader(fd: fds[0], maxLength: 16)
        guard case .success(let first)? = reader.next() else { return XCTFail("a 15-byte line is within the limit") }
        XCTAssertEqual(first, Array("{\"op\":\"status\"}".utf8))
        guard case .success(let second)? = reader.next() else { return XCTFail("a 16-byte line is within the limit") }
        XCTAssertEqual(second, Array("0123456789abcdef".utf8))
        guard case .failure? = reader.next() else { return XCTFail("a 17-byte line passed a 16-byte limit") }
    }
}
