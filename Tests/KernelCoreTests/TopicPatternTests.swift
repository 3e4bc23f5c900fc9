@testable import KernelCore
import TopicPatterns
import XCTest

/// Topic patterns (shared by the kernel's handlers and the pubsub plugin) and the topics publish accepts.
final class TopicPatternTests: XCTestCase {
    func testWildcards() throws {
        let star = try TopicPattern(validating: "orders.*")
        XCTAssertTrue(star.matches("orders.created"))
        XCTAssertFalse(star.matches("orders.eu.created"))
        XCTAssertFalse(star.matches("orders"))
        for rest in ["orders.#", "orders.>"] {
            let pattern = try TopicPattern(validating: rest)
            XCTAssertTrue(pattern.matches("orders"), rest)
            XCTAssertTrue(pattern.matches("orders.eu.created"), rest)
            XCTAssertFalse(pattern.matches("order"), rest)
            XCTAssertFalse(pattern.matches("ordersx.eu"), rest)
        }
        XCTAssertTrue(try TopicPattern(validating: "#").matches("anything.at.all"))
        XCTAssertTrue(try TopicPattern(validating: "*.created.#").matches("shop.created.eu.1"))
        XCTAssertFalse(try TopicPattern(validating: "a.b").matches("a.b.c"))
        XCTAssertTrue(try TopicPattern(validating: "a.b").isLiteral)
        XCTAssertFalse(try TopicPattern(validating: "a.*").isLiteral)
    }

    func testInvalidPatternsSayWhy() {
        let cases: [(String, String)] = [
            ("", "empty"), ("orders..x", "segment 2 is empty"), (".a", "segment 1 is empty"), ("a.", "segment 2 is empty"),
            ("ord*", "whole segment"), ("a.#.b", "may only be the last"), ("a.>.b", "may only be the last"),
            (String(repeating: "a", count: 256), "255"),
        ]
        for (pattern, reason) in cases {
            XCTAssertThrowsError(try TopicPattern(validating: pattern), pattern) { error in
                XCTAssertTrue("\(error)".contains(reason), "\(pattern): \(error)")
            }
        }
    }

    func testPublishedTopicsHaveNoWildcardOrEmptySegment() {
        for good in ["orders", "orders.created", "a.b-c_d.9"] { XCTAssertTrue(Publication.isValidTopic(good), good) }
        for bad in ["", "orders.*", "orders.#", "a.>", "a..b", ".a", "a.", String(repeating: "x", count: 256)] {
            XCTAssertFalse(Publication.isValidTopic(bad), bad)
        }
    }
}
