import Testing
import BlacklightCore

@Suite("DurationParser")
struct DurationParserTests {
    @Test("units, combinations and bare seconds", arguments: [
        ("30s", 30.0), ("10m", 600), ("2h", 7200), ("1d", 86_400), ("1w", 604_800), ("500ms", 0.5),
        ("1h30m", 5400), ("1d2h3m4s", 93_784), ("90", 90), ("1.5h", 5400), ("0s", 0), ("0.25", 0.25),
        ("1h 30m", 5400), ("  5s  ", 5), ("2 days", 172_800), ("5 minutes", 300), ("1H", 3600),
    ])
    func valid(text: String, seconds: Double) throws {
        #expect(try DurationParser.seconds(text) == seconds)
    }

    @Test("errors say what was wrong", arguments: [
        ("10x", #"invalid duration "10x": unknown unit "x" (use ms, s, m, h, d, w)"#),
        ("5 fortnights", #"invalid duration "5 fortnights": unknown unit "fortnights" (use ms, s, m, h, d, w)"#),
        ("", #"invalid duration "": empty"#),
        ("   ", #"invalid duration "   ": empty"#),
        ("-5s", #"invalid duration "-5s": negative durations are not allowed"#),
        ("1h30", #"invalid duration "1h30": missing unit after 30 (use ms, s, m, h, d, w)"#),
        ("h", #"invalid duration "h": expected a number before "h""#),
        ("1..2s", #"invalid duration "1..2s": "1..2" is not a number"#),
        ("5s!", #"invalid duration "5s!": unexpected "!""#),
        ("1h-30m", #"invalid duration "1h-30m": unexpected "-""#),
    ])
    func invalid(text: String, message: String) {
        #expect(throws: DurationError(message: message)) { try DurationParser.seconds(text) }
    }

    @Test("error description is the message")
    func description() {
        #expect(DurationError(message: "m").description == "m")
    }
}
