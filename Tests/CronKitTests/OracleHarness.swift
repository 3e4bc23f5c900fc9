import CronKit
import Foundation

/// Runs `Scripts/oracle.py` (cronsim's answers for random expressions, zones
/// and start times) and compares CronKit's answers with them. Kept free of
/// XCTest so that a plain executable can run it too.
enum OracleHarness {
    struct Report {
        var cases = 0
        var compared = 0
        var expectedErrors = 0
        /// Cases where cronsim hangs or repeats itself; only its earlier
        /// answers count there.
        var cronsimStuck = 0
        var mismatches: [String] = []
        var seconds = 0.0

        var summary: String {
            let shown = mismatches.prefix(20).joined(separator: "\n")
            return "\(mismatches.count) of \(cases) oracle cases differ from cronsim:\n\(shown)"
        }
    }

    /// The oracle script, found next to this file.
    static func scriptPath(testFile: String = #filePath) -> String {
        URL(fileURLWithPath: testFile).deletingLastPathComponent()
            .appendingPathComponent("Scripts/oracle.py").path
    }

    /// Why the oracle cannot run, or nil when python3 and cronsim are there.
    static func cronsimProblem() -> String? {
        guard let (status, _, err) = try? python(["-c", "import cronsim"]) else {
            return "python3 not found; install Python 3 and run: pip install cronsim"
        }
        return status == 0 ? nil : "cronsim is not importable (\(err)); run: pip install cronsim"
    }

    /// Runs the oracle with a seed and a count and compares every case.
    static func run(seed: Int, count: Int, testFile: String = #filePath) throws -> Report {
        let began = Date()
        let script = scriptPath(testFile: testFile)
        let (status, out, err) = try python([script, "--seed", "\(seed)", "--count", "\(count)"])
        guard status == 0 else {
            var report = Report()
            report.mismatches = ["oracle.py failed with status \(status): \(err)"]
            return report
        }
        var report = compare(lines: out.split(separator: "\n").map(String.init))
        report.seconds = Date().timeIntervalSince(began)
        return report
    }

    /// Compares oracle JSON lines with CronKit's answers.
    static func compare(lines: [String]) -> Report {
        var report = Report()
        for line in lines where !line.isEmpty {
            report.cases += 1
            if let problem = check(line, &report) { report.mismatches.append(problem) }
        }
        return report
    }

    private static func check(_ line: String, _ report: inout Report) -> String? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)),
              let entry = object as? [String: Any], let expr = entry["expr"] as? String else {
            return "unreadable oracle line: \(line)"
        }
        if entry.keys.contains("error") {
            report.expectedErrors += 1
            let field = entry["error"] as? String
            do {
                let parsed = try CronExpression(expr)
                return "\(quoted(expr)): cronsim rejects it (\(field ?? "no field")), CronKit accepts \(parsed)"
            } catch {
                if error.field == field { return nil }
                return "\(quoted(expr)): cronsim blames \(field ?? "no field"), CronKit says \(error)"
            }
        }
        guard let zoneName = entry["zone"] as? String, let start = entry["start"] as? Double,
              let fires = entry["fires"] as? [Int] else { return "incomplete oracle line: \(line)" }
        report.compared += 1
        let expression: CronExpression
        let tz: TimeZone
        do {
            expression = try CronExpression(expr)
            tz = try zone(named: zoneName)
        } catch {
            return "\(quoted(expr)) in \(zoneName): CronKit refuses it (\(error)), cronsim accepts it"
        }
        let date = Date(timeIntervalSince1970: start)
        var got = expression.next(after: date, in: tz, count: 5).map { Int($0.timeIntervalSince1970) }
        if entry["stuck"] as? Bool == true {
            // cronsim has no usable answer for the next step; CronKit must
            // answer the steps before it the same way, and then something.
            report.cronsimStuck += 1
            if got.count > fires.count { got = Array(got.prefix(fires.count)) }
        }
        if got == fires { return nil }
        func show(_ times: [Int]) -> String {
            times.map { ISO8601Text.format(Date(timeIntervalSince1970: Double($0)), in: tz) }.joined(separator: ", ")
        }
        return """
            \(quoted(expr)) in \(zoneName) after \(start) (\(ISO8601Text.format(date, in: tz))):
              cronsim: \(show(fires))
              CronKit: \(show(got))
            """
    }

    private static func quoted(_ s: String) -> String {
        let data = try? JSONSerialization.data(withJSONObject: [s], options: [.fragmentsAllowed])
        return data.flatMap { String(data: $0, encoding: .utf8) }.map { String($0.dropFirst().dropLast()) } ?? s
    }

    /// Runs python3 with arguments; returns status, stdout and stderr.
    private static func python(_ arguments: [String]) throws -> (Int32, String, String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3"] + arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        // The script writes to stderr only when it fails, a short message,
        // so reading stdout to the end first cannot block on a full pipe.
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: outData, as: UTF8.self),
                String(decoding: errData, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
    }
}
