import BlacklightCore
import Foundation
@testable import Engine
@testable import PGStore
@testable import Server

/// Every parser of a time or a duration that text from outside reaches, fed the same input: none may
/// trap, and each value that comes out goes back in unchanged (to a stated precision).
enum TimeCheck {
    static func check(_ input: UnsafeBufferPointer<UInt8>) throws(FuzzFailure) {
        let text = String(decoding: input, as: UTF8.self)
        try checkDuration(text)
        try checkTimestampText(input)
        if let number = Double(text) {
            // As `ts` in an event (milliseconds) and as seconds: what reaches TimestampText.append.
            try checkTimestampRoundTrip(Date(timeIntervalSince1970: number / 1000))
            try checkTimestampRoundTrip(Date(timeIntervalSince1970: number))
        }
    }

    /// The parsers built on Foundation's formatters, apart because they make formatters per call (about
    /// 10 ms): at a hundred inputs a second they would starve the checks above.
    static func checkDates(_ input: UnsafeBufferPointer<UInt8>) throws(FuzzFailure) {
        let text = String(decoding: input, as: UTF8.self)
        // GET /api/runs?since=…: the time goes to SQL as a parameter.
        if let since = try? APIRoutes.time(text, "since") {
            _ = try? ParameterEncoder([.timestamp(since)])
        }
        // A time from Lua (`time.parse`, a `$time` memo): ISO text, back to the same instant.
        if let seconds = TimeValue.parse(text), TimeBounds.contains(seconds: seconds) {
            let iso = TimeValue.iso(seconds)
            guard let again = TimeValue.parse(iso), abs(again - seconds) < 0.001 else {
                throw FuzzFailure("TimeValue: \(text) → \(seconds) → \(iso) → \(String(describing: TimeValue.parse(iso)))")
            }
        }
    }

    /// A duration that parses is finite and not negative, and its message form reads back within the
    /// form's rounding (0.1 of the unit shown).
    static func checkDuration(_ text: String) throws(FuzzFailure) {
        guard let seconds = try? DurationParser.seconds(text) else { return }
        guard seconds.isFinite, seconds >= 0 else { throw FuzzFailure("duration \(text) gave \(seconds)") }
        // Past a few centuries DurationText switches to exponent notation, which is for reading only.
        guard seconds < 1e10 else { return }
        let shown = DurationText.format(seconds)
        guard let again = try? DurationParser.seconds(shown), abs(again - seconds) <= 0.05 + seconds * 1e-12 else {
            throw FuzzFailure("duration \(text) = \(seconds) s is shown as \(shown), which reads back differently")
        }
    }

    /// PostgreSQL's timestamp text: what parses and lies in PostgreSQL's range writes back to the same instant.
    static func checkTimestampText(_ input: UnsafeBufferPointer<UInt8>) throws(FuzzFailure) {
        guard let date = TimestampText.parse(input) else { return }
        try checkTimestampRoundTrip(date)
    }

    /// A time PostgreSQL can hold is written and read back to the microsecond; any other is refused.
    static func checkTimestampRoundTrip(_ date: Date) throws(FuzzFailure) {
        var text: [UInt8] = []
        let written = TimestampText.append(date, to: &text)
        guard date != .distantFuture, date != .distantPast else { return }
        let seconds = date.timeIntervalSince1970
        guard TimestampText.representable.contains(seconds) else {
            guard !written else { throw FuzzFailure("time \(seconds) s outside PostgreSQL's range was written") }
            return
        }
        guard written else { throw FuzzFailure("time \(seconds) s in PostgreSQL's range was refused") }
        let shown = String(decoding: text, as: UTF8.self)
        guard let back = text.withUnsafeBufferPointer(TimestampText.parse) else {
            throw FuzzFailure("time \(seconds) s was written as \(shown), which does not parse")
        }
        // Writing rounds to the microsecond, after converting to seconds since 2001 (one more Double rounding);
        // at 10^12 s a Double's own step is about 0.1 ms.
        let tolerance = 1e-6 + 2 * seconds.magnitude.ulp
        guard abs(back.timeIntervalSince1970 - seconds) <= tolerance else {
            throw FuzzFailure("time \(seconds) s was written as \(shown), which reads back as \(back.timeIntervalSince1970)")
        }
    }
}
