import BlacklightCore
import Foundation
import Testing

@Suite("Time bounds: the one range check for times from outside")
struct TimeBoundsTests {
    @Test("years 1 to 9999 pass, in seconds and in milliseconds")
    func inside() throws {
        #expect(try TimeBounds.date(millis: 1_700_000_000_000) == Date(timeIntervalSince1970: 1_700_000_000))
        #expect(try TimeBounds.date(seconds: 253_402_300_799) == Date(timeIntervalSince1970: 253_402_300_799))
        #expect(try TimeBounds.date(seconds: -62_135_596_800) == Date(timeIntervalSince1970: -62_135_596_800))
    }

    @Test("regression: past 9999, before year 1, NaN and infinities are refused with a message that says why")
    func outside() {
        #expect(throws: TimeRangeError(message: "9223978307200000 ms since 1970 is after the year 9999: times must be in years 1 to 9999")) {
            try TimeBounds.date(millis: 9_223_978_307_200_000)
        }
        #expect(throws: TimeRangeError(message: "NaN is not a time")) { try TimeBounds.date(millis: .nan) }
        #expect(throws: TimeRangeError(message: "-inf s since 1970 is before the year 1: times must be in years 1 to 9999")) {
            try TimeBounds.date(seconds: -.infinity)
        }
        #expect(throws: TimeRangeError.self) { try TimeBounds.date(seconds: 253_402_300_800) }
        #expect(!TimeBounds.contains(seconds: .infinity))
    }
}

@Suite("Values the database cannot store as they are")
struct JSONStorableTests {
    @Test("NUL in strings and keys, non-finite numbers and deep nesting are found with their path")
    func finds() {
        #expect(JSONValue.object(["a": [1, ["b": "x\u{0}"]]]).unstorablePart(maxDepth: 64)?.path == ".a[1].b")
        #expect(JSONValue.object(["n": .double(.nan)]).unstorablePart(maxDepth: 64)?.problem
                == "nan is not a JSON number (NaN and infinities cannot be stored)")
        #expect(JSONValue.object(["k\u{0}": 1]).unstorablePart(maxDepth: 64)?.path == ".k\\u0000")
        #expect(JSONValue.array([[[1]]]).unstorablePart(maxDepth: 2)?.problem == "nested deeper than 2 levels")
        #expect(JSONValue.array([[[1]]]).unstorablePart(maxDepth: 3) == nil)
        #expect(JSONValue.object(["fine": [1, 2.5, "text", true, .null]]).unstorablePart(maxDepth: 64) == nil)
    }

    @Test("regression: exactNumbers refuses integers beyond Int64 and numbers beyond Double instead of rounding them")
    func exactNumbers() throws {
        #expect(try JSONValue.parse("[9223372036854775807, -9223372036854775808]", exactNumbers: true)
                == [.int(.max), .int(.min)])
        #expect(throws: JSONError(message: "the integer 9223372036854775808 at offset 1 does not fit in 64 bits "
            + "(from -9223372036854775808 to 9223372036854775807): send it as a string", offset: 1)) {
            try JSONValue.parse("[9223372036854775808]", exactNumbers: true)
        }
        #expect(throws: JSONError.self) { try JSONValue.parse("1e999", exactNumbers: true) }
        #expect(throws: JSONError.self) { try JSONValue.parse(bytes: Array("-1e400".utf8), exactNumbers: true) }
        #expect(try JSONValue.parse("1e300", exactNumbers: true) == .double(1e300))
        // Without the option (values read back from the database) nothing changes.
        #expect(try JSONValue.parse("9223372036854775808") == .double(9_223_372_036_854_775_808))
        #expect(try JSONValue.parse("1e999") == .double(.infinity))
    }
}
