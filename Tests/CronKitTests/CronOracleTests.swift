import XCTest

/// Compares CronKit with cronsim 2.8 (the reference implementation) on
/// thousands of random expressions, zones and start times around DST changes.
/// Needs `python3` with cronsim: `pip install cronsim`. Set CRONKIT_ORACLE_SEED
/// or CRONKIT_ORACLE_COUNT to explore other cases.
final class CronOracleTests: XCTestCase {
    func testMatchesCronsim() throws {
        if let problem = OracleHarness.cronsimProblem() {
            return XCTFail("The cron oracle needs cronsim: \(problem)")
        }
        let environment = ProcessInfo.processInfo.environment
        let seed = environment["CRONKIT_ORACLE_SEED"].flatMap(Int.init) ?? 20_260_329
        let count = environment["CRONKIT_ORACLE_COUNT"].flatMap(Int.init) ?? 3000
        let report = try OracleHarness.run(seed: seed, count: count)
        XCTAssertEqual(report.cases, count, "oracle.py produced too few cases")
        XCTAssertGreaterThan(report.compared, count / 2, "too few fire-time comparisons")
        XCTAssertTrue(report.mismatches.isEmpty, "seed \(seed): \(report.summary)")
    }
}
