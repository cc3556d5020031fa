import Foundation

/// Why a cron expression was rejected, e.g.
/// `invalid cron expression "61 * * * *": minute value 61 out of range 0-59`.
public struct CronError: Error, Sendable, Hashable, CustomStringConvertible {
    public let message: String

    public init(message: String) { self.message = message }

    public var description: String { message }
}

/// A standard five-field cron schedule (minute hour day-of-month month day-of-week) in a time zone.
///
/// Syntax: lists `1,2`, ranges `1-5`, steps `*/15` and `1-30/5`, names `JAN`-`DEC` and `SUN`-`SAT`
/// (any case), 0 or 7 for Sunday, `?` as `*` in the day fields, and the macros `@yearly`, `@annually`,
/// `@monthly`, `@weekly`, `@daily`, `@midnight`, `@hourly`. A leading `TZ=Zone` or `CRON_TZ=Zone`
/// (as Inngest accepts) sets the time zone and wins over the `timeZone` argument.
///
/// Semantics follow vixie cron: when both day fields are restricted (neither starts with `*` or `?`),
/// a day matches if either matches; otherwise both must. Ticks are wall-clock times in the time zone:
/// a time that does not exist on a spring-forward day is skipped, and a time that occurs twice on a
/// fall-back day fires once — except that, as in vixie cron, an expression whose minute or hour field
/// starts with `*` (`*/15 * * * *`, `0 * * * *`) fires in both occurrences, so its interval holds.
public struct CronExpression: Sendable, Hashable, CustomStringConvertible {
    /// The text the expression was created from, as given.
    public let source: String
    /// The zone the fields are read in; UTC unless given.
    public let timeZone: TimeZone

    let minutes: CronField
    let hours: CronField
    let daysOfMonth: CronField
    let months: CronField
    let daysOfWeek: CronField

    static let macros: KeyValuePairs<String, String> = [
        "@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *", "@weekly": "0 0 * * 0",
        "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *",
    ]

    /// Parses `text`; `timeZone` is used unless the text starts with `TZ=` / `CRON_TZ=`. Defaults to UTC.
    public init(_ text: String, timeZone: TimeZone? = nil) throws(CronError) {
        func fail(_ reason: String) -> CronError {
            CronError(message: "invalid cron expression \"\(text)\": \(reason)")
        }
        source = text
        var tokens = text.split(whereSeparator: \.isWhitespace)
        var zone = timeZone ?? TimeZone(secondsFromGMT: 0)!

        if let first = tokens.first, let prefix = ["TZ=", "CRON_TZ="].first(where: { first.hasPrefix($0) }) {
            let identifier = String(first.dropFirst(prefix.count))
            guard let named = TimeZone(identifier: identifier) else {
                throw fail("unknown time zone \"\(identifier)\" (use an IANA name such as Europe/Paris)")
            }
            zone = named
            tokens.removeFirst()
        }
        self.timeZone = zone

        if let first = tokens.first, first.hasPrefix("@") {
            guard let expansion = Self.macros.first(where: { $0.key == first.lowercased() })?.value else {
                let known = Self.macros.map(\.key).joined(separator: ", ")
                throw fail("unknown macro \"\(first)\" (use \(known))")
            }
            guard tokens.count == 1 else { throw fail("unexpected \"\(tokens[1])\" after \(first)") }
            tokens = expansion.split(separator: " ")
        }

        guard tokens.count == 5 else {
            throw fail("expected 5 fields (minute hour day-of-month month day-of-week), got \(tokens.count)")
        }
        do {
            minutes = try CronField(parsing: tokens[0], kind: .minute)
            hours = try CronField(parsing: tokens[1], kind: .hour)
            daysOfMonth = try CronField(parsing: tokens[2], kind: .dayOfMonth)
            months = try CronField(parsing: tokens[3], kind: .month)
            daysOfWeek = try CronField(parsing: tokens[4], kind: .dayOfWeek)
        } catch {
            throw fail(error.message)
        }
    }

    public var description: String { source }

    /// Whether the schedule allows this local day.
    func matchesDay(_ wall: WallTime) -> Bool {
        let dayOfMonth = daysOfMonth.contains(wall.day)
        let dayOfWeek = daysOfWeek.contains(wall.weekday)
        if daysOfMonth.isStar || daysOfWeek.isStar { return dayOfMonth && dayOfWeek }
        return dayOfMonth || dayOfWeek
    }

    /// Whether a wall time that occurs twice (fall back) fires in its second occurrence too.
    var firesInRepeatedHour: Bool { minutes.isStar || hours.isStar }
}

extension CronExpression {
    /// A deterministic offset in [0, maxSeconds) for spreading a tick of `key` (say a function id).
    ///
    /// Every process computes the same value, so workers agree on the jittered time without talking.
    /// The offset is the 64-bit FNV-1a hash of the UTF-8 text `"<key>@<tick as whole Unix seconds>"`,
    /// its top 53 bits taken as a fraction of `maxSeconds`. Returns 0 when `maxSeconds` is not positive.
    public static func jitterOffset(maxSeconds: Double, key: String, tick: Date) -> Double {
        guard maxSeconds > 0, maxSeconds.isFinite else { return 0 }
        let seconds = tick.timeIntervalSince1970
        let whole = seconds.isFinite && abs(seconds) < 1e15 ? Int64(seconds.rounded(.down)) : 0
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in "\(key)@\(whole)".utf8 {
            hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
        }
        // FNV mixes low bits into high ones (multiplication carries upward), so the top bits are the
        // well-mixed ones. A 53-bit fraction is exactly representable and strictly below 1.
        let fraction = Double(hash >> 11) * 0x1p-53
        return min(fraction * maxSeconds, maxSeconds.nextDown)
    }
}
