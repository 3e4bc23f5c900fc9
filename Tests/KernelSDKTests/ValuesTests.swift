import CKernelABI
import XCTest
@testable import KernelSDK

/// The SDK's vocabulary: status codes from the header's one list, time,
/// methods, errors and JSON.
final class ValuesTests: XCTestCase {
    func testEveryCodeRoundTripsThroughItsStatus() {
        for code in PluginError.Code.allCases {
            XCTAssertEqual(PluginError.Code(status: code.status), code, "\(code)")
            XCTAssertEqual(String(cString: kn_status_name(code.status)), code.rawValue)
        }
        XCTAssertEqual(PluginError.Code(status: 9_999), .internal)
        XCTAssertEqual(PluginError.Code(status: KN_OK), .internal, "OK is not an error code")
    }

    func testHTTPStatusesComeFromTheHeader() {
        XCTAssertEqual(PluginError.Code.validation.httpStatus, 422)
        XCTAssertEqual(PluginError.Code.notFound.httpStatus, 404)
        XCTAssertEqual(PluginError.Code.cancelled.httpStatus, 499)
        XCTAssertEqual(PluginError.Code.rateLimited.httpStatus, 429)
        XCTAssertEqual(PluginError.Code.internal.httpStatus, 500)
    }

    func testDurationsBecomeWholeNonNegativeMilliseconds() {
        XCTAssertEqual(Duration.seconds(2).milliseconds, 2_000)
        XCTAssertEqual(Duration.milliseconds(1_500).milliseconds, 1_500)
        XCTAssertEqual(Duration.microseconds(2_999).milliseconds, 2)
        XCTAssertEqual(Duration.seconds(-3).milliseconds, 0)
        XCTAssertEqual(Duration.zero.milliseconds, 0)
    }

    func testMethodsAreUpperCase() {
        XCTAssertEqual(HTTPMethod("patch"), .patch)
        let literal: HTTPMethod = "get"
        XCTAssertEqual(literal, .get)
        XCTAssertEqual(HTTPMethod.delete.rawValue, "DELETE")
    }

    func testAnyErrorBecomesAPluginError() {
        XCTAssertEqual(PluginError(CancellationError()).code, .cancelled)
        XCTAssertEqual(PluginError(PluginError.conflict("x")).code, .conflict)
        struct Odd: Error {}
        XCTAssertEqual(PluginError(Odd()).code, .internal)
    }

    func testErrorDetailsRoundTrip() throws {
        let sent = PluginError.validation([.init(field: "name", message: "must not be empty")])
        let received = PluginError(.validation, sent.message, detailsJSON: sent.detailsJSON)
        XCTAssertEqual(received.fields, sent.fields)
        XCTAssertEqual(received.code, .validation)
    }

    func testJSONKeysAreSorted() throws {
        struct Unordered: Encodable {
            var zebra = 1
            var apple = 2
            var mango = 3
        }
        let text = String(decoding: try JSON.encode(Unordered(), what: "test"), as: UTF8.self)
        XCTAssertEqual(text, #"{"apple":2,"mango":3,"zebra":1}"#)
    }

    func testEventTimeIsADate() {
        var event = kn_event()
        event.published_at_ms = 1_700_000_000_123
        XCTAssertEqual(Event(event).publishedAt.timeIntervalSince1970, 1_700_000_000.123, accuracy: 0.0005)
    }
}

/// The `@every` text the SDK registers: the largest whole unit.
final class EveryTextTests: XCTestCase {
    func testIntervalsAreWrittenInTheirLargestWholeUnit() {
        XCTAssertEqual(PluginContext.durationText(.minutes(15)), "15m")
        XCTAssertEqual(PluginContext.durationText(.hours(2)), "2h")
        XCTAssertEqual(PluginContext.durationText(.seconds(90)), "90s")
        XCTAssertEqual(PluginContext.durationText(.milliseconds(1500)), "1500ms")
    }
}
