/// Why a duration text could not be read.
public struct DurationError: Error, Sendable, Hashable, CustomStringConvertible {
    /// E.g. `invalid duration "10x": unknown unit "x" (use ms, s, m, h, d, w)`.
    public let message: String

    public init(message: String) { self.message = message }

    public var description: String { message }
}

/// Reads durations as scripts write them (`step.sleep("30s")`, timeouts, `retry_after`), in the
/// Inngest/Go style: `500ms`, `30s`, `10m`, `2h`, `1d`, `1w`, combinations such as `1h30m`, and a
/// bare number meaning seconds (`90`). Fractions are allowed (`1.5h`); spaces between parts are ignored.
/// Months and years are deliberately absent: their length depends on the calendar date.
public enum DurationParser {
    static let unitHint = "(use ms, s, m, h, d, w)"

    /// The duration in seconds. Empty, negative, unit-less parts after the first, and unknown units
    /// are errors.
    public static func seconds(_ text: String) throws(DurationError) -> Double {
        func fail(_ reason: String) -> DurationError {
            DurationError(message: "invalid duration \"\(text)\": \(reason)")
        }
        let chars = Array(text.unicodeScalars)
        var position = 0
        func skipSpaces() {
            while position < chars.count, chars[position].properties.isWhitespace { position += 1 }
        }

        skipSpaces()
        guard position < chars.count else { throw fail("empty") }
        if chars[position] == "-" { throw fail("negative durations are not allowed") }

        var total = 0.0
        var parts = 0
        while true {
            skipSpaces()
            guard position < chars.count else { break }
            let numberStart = position
            while position < chars.count, chars[position] == "." || ("0"..."9").contains(chars[position]) {
                position += 1
            }
            let numberText = String(String.UnicodeScalarView(chars[numberStart..<position]))
            skipSpaces()  // "2 days"
            let unitStart = position
            while position < chars.count, chars[position].properties.isAlphabetic { position += 1 }
            let unit = String(String.UnicodeScalarView(chars[unitStart..<position]))

            if numberText.isEmpty {
                if unit.isEmpty { throw fail("unexpected \"\(chars[position])\"") }
                throw fail("expected a number before \"\(unit)\"")
            }
            guard let number = Double(numberText) else { throw fail("\"\(numberText)\" is not a number") }
            if unit.isEmpty {
                // A bare number is only meaningful alone: "1h30" could mean 30 s or 30 min.
                guard parts == 0, position == chars.count || isTrailingSpace(chars, from: position) else {
                    throw fail("missing unit after \(numberText) \(unitHint)")
                }
                total += number
            } else {
                guard let scale = unitSeconds(unit) else { throw fail("unknown unit \"\(unit)\" \(unitHint)") }
                total += number * scale
            }
            parts += 1
        }
        guard total.isFinite else { throw fail("too large") }
        return total
    }

    /// Units are case-insensitive and may be spelled out (`5 minutes`, `1 hour`), as in the `ms`
    /// package that Inngest's TypeScript SDK uses, so durations copied from there keep working.
    static func unitSeconds(_ unit: String) -> Double? {
        switch unit.lowercased() {
        case "ms", "msec", "msecs", "millisecond", "milliseconds": 0.001
        case "s", "sec", "secs", "second", "seconds": 1
        case "m", "min", "mins", "minute", "minutes": 60
        case "h", "hr", "hrs", "hour", "hours": 3600
        case "d", "day", "days": 86_400
        case "w", "wk", "wks", "week", "weeks": 604_800
        default: nil
        }
    }

    private static func isTrailingSpace(_ chars: [Unicode.Scalar], from position: Int) -> Bool {
        chars[position...].allSatisfy { $0.properties.isWhitespace }
    }
}
