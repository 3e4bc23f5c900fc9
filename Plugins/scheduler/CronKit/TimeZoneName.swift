import Foundation

/// Looks up an IANA time zone by name, refusing names it does not know.
///
/// Foundation also accepts ad-hoc offsets such as `GMT+5`; those are refused
/// because they are not IANA names and `Etc/GMT+5` means the opposite sign.
///
/// ```swift
/// let berlin = try zone(named: "Europe/Berlin")
/// _ = try zone(named: "Mars/Olympus")  // throws: unknown time zone 'Mars/Olympus'
/// ```
public func zone(named name: String) throws(CronError) -> TimeZone {
    let upper = name.uppercased()
    let adHoc = ["GMT+", "GMT-", "UTC+", "UTC-"].contains { upper.hasPrefix($0) }
    guard !adHoc, let tz = TimeZone(identifier: name) else {
        throw CronError(reason: "unknown time zone '\(name)'")
    }
    return tz
}
