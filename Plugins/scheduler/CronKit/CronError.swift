/// Why a schedule, duration or time zone name was refused.
///
/// `field` names the cron field at fault, spelled like cronsim's
/// `FIELD_NAMES` (`second`, `minute`, `hour`, `day-of-month`, `month`,
/// `day-of-week`), or is `nil` when the error is not about one field.
///
/// ```swift
/// do {
///     _ = try CronExpression("0 0 32 * *")
/// } catch {
///     print(error)        // day-of-month: 32 is out of range 1-31
///     print(error.field)  // Optional("day-of-month")
/// }
/// ```
public struct CronError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The cron field at fault (`"day-of-month"`), or `nil`.
    public var field: String?
    /// What is wrong, without the field name: `32 is out of range 1-31`.
    public var reason: String

    /// Creates an error; `field` is `nil` for errors not tied to one field.
    ///
    /// ```swift
    /// let e = CronError(field: "minute", reason: "step 0 is not allowed")
    /// e.description  // "minute: step 0 is not allowed"
    /// ```
    public init(field: String? = nil, reason: String) {
        self.field = field
        self.reason = reason
    }

    /// `field: reason`, or just `reason` when no field is involved.
    ///
    /// ```swift
    /// CronError(reason: "unknown time zone 'Mars/Olympus'").description
    /// // "unknown time zone 'Mars/Olympus'"
    /// ```
    public var description: String {
        if let field { return "\(field): \(reason)" }
        return reason
    }
}
