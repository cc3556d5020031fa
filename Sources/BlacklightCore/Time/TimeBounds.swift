import Foundation

/// Why a time from outside was refused, e.g. `9223978307200000 ms since 1970 is after the year 9999`.
public struct TimeRangeError: Error, Sendable, Hashable, CustomStringConvertible {
    public let message: String
    public init(message: String) { self.message = message }
    public var description: String { message }
}

/// The one range check for times that come from outside: event `ts` in JSON, `since`/`until` in query
/// strings, and times made in Lua (`time.unix`, `time.parse`, time arithmetic, `step.sleep_until`).
///
/// Years 1 to 9999 (UTC): what every store and format of a time here handles. PostgreSQL's timestamptz goes
/// further (294276 AD), but ISO-8601 text and Foundation's formatters have four-digit years, and the
/// microsecond arithmetic that encodes a timestamp for libpq nears Int64's end past 294247 AD. No workflow
/// means a time outside it. NaN and the infinities are outside it too, so a `since=nan` is refused rather
/// than read as 1970.
public enum TimeBounds {
    /// 0001-01-01T00:00:00Z ... 9999-12-31T23:59:59.999Z, in seconds since 1970.
    public static let seconds: ClosedRange<Double> = -62_135_596_800...253_402_300_799.999

    /// Whether `seconds` since 1970 is an accepted time (false for NaN and infinities).
    public static func contains(seconds value: Double) -> Bool { Self.seconds.contains(value) }

    /// The date `value` seconds after 1970, or an error saying why it is not accepted.
    public static func date(seconds value: Double) throws(TimeRangeError) -> Date {
        guard contains(seconds: value) else { throw refusal(value, unit: "s") }
        return Date(timeIntervalSince1970: value)
    }

    /// The date `value` milliseconds after 1970 (the unit of Inngest's `ts`), or an error saying why not.
    public static func date(millis value: Double) throws(TimeRangeError) -> Date {
        guard contains(seconds: value / 1000) else { throw refusal(value, unit: "ms") }
        return Date(timeIntervalSince1970: value / 1000)
    }

    static func refusal(_ value: Double, unit: String) -> TimeRangeError {
        if value.isNaN { return TimeRangeError(message: "NaN is not a time") }
        let seconds = unit == "ms" ? value / 1000 : value
        let side = seconds > 0 ? "after the year 9999" : "before the year 1"
        return TimeRangeError(message: "\(text(value)) \(unit) since 1970 is \(side): times must be in years 1 to 9999")
    }

    /// Integral values as digits (`9223978307200000`, not `9.2239783072e+15`), others as Swift prints them.
    static func text(_ value: Double) -> String {
        if value.isFinite, value == value.rounded(), let n = Int64(exactly: value) { return String(n) }
        return "\(value)"
    }
}
