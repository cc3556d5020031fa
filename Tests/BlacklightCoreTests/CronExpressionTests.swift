import Foundation
import Testing
import BlacklightCore

@Suite("CronExpression syntax and next/previous in UTC")
struct CronExpressionTests {
    /// The next `count` ticks after `start`, in UTC ISO 8601.
    private func ticks(_ text: String, after start: String, count: Int = 4) throws -> [String] {
        let cron = try CronExpression(text)
        var date = try instant(start)
        var result: [String] = []
        for _ in 0..<count {
            guard let next = cron.next(after: date) else { break }
            result.append(local(next) ?? "?")
            date = next
        }
        return result
    }

    @Test("*/15 fires on the quarter hours")
    func everyFifteenMinutes() throws {
        #expect(try ticks("*/15 * * * *", after: "2024-05-01T10:07:00Z", count: 5) == [
            "2024-05-01T10:15:00Z", "2024-05-01T10:30:00Z", "2024-05-01T10:45:00Z", "2024-05-01T11:00:00Z",
            "2024-05-01T11:15:00Z",
        ])
    }

    @Test("next is strictly after: 0 3 * * * after 03:00 exactly is the next day")
    func strictlyAfter() throws {
        let cron = try CronExpression("0 3 * * *")
        #expect(local(cron.next(after: try instant("2024-05-01T03:00:00Z"))) == "2024-05-02T03:00:00Z")
        #expect(local(cron.next(after: try instant("2024-05-01T02:59:59Z"))) == "2024-05-01T03:00:00Z")
        let justBefore = try instant("2024-05-01T03:00:00Z").addingTimeInterval(-0.25)
        #expect(local(cron.next(after: justBefore)) == "2024-05-01T03:00:00Z")
        #expect(local(cron.next(after: try instant("2024-05-01T03:00:00Z").addingTimeInterval(0.5))) == "2024-05-02T03:00:00Z")
    }

    @Test("lists, ranges and steps")
    func listsRangesSteps() throws {
        #expect(try ticks("5,10 * * * *", after: "2024-05-01T10:07:00Z", count: 3)
            == ["2024-05-01T10:10:00Z", "2024-05-01T11:05:00Z", "2024-05-01T11:10:00Z"])
        #expect(try ticks("0 9-11 * * *", after: "2024-05-01T10:30:00Z", count: 3)
            == ["2024-05-01T11:00:00Z", "2024-05-02T09:00:00Z", "2024-05-02T10:00:00Z"])
        #expect(try ticks("1-30/10 0 * * *", after: "2024-05-01T00:00:00Z", count: 4)
            == ["2024-05-01T00:01:00Z", "2024-05-01T00:11:00Z", "2024-05-01T00:21:00Z", "2024-05-02T00:01:00Z"])
        #expect(try ticks("5/20 0 * * *", after: "2024-05-01T00:00:00Z", count: 4)
            == ["2024-05-01T00:05:00Z", "2024-05-01T00:25:00Z", "2024-05-01T00:45:00Z", "2024-05-02T00:05:00Z"])
        #expect(try ticks("0 0 1,15 */3 *", after: "2024-05-01T00:00:00Z", count: 3)
            == ["2024-07-01T00:00:00Z", "2024-07-15T00:00:00Z", "2024-10-01T00:00:00Z"])
    }

    @Test("month and day names in any case, in lists and ranges")
    func names() throws {
        #expect(try ticks("0 0 1 jan,Jul *", after: "2024-05-01T00:00:00Z", count: 2)
            == ["2024-07-01T00:00:00Z", "2025-01-01T00:00:00Z"])
        // 2024-05-03 is a Friday.
        #expect(try ticks("30 8 * * MON-fri", after: "2024-05-03T09:00:00Z", count: 2)
            == ["2024-05-06T08:30:00Z", "2024-05-07T08:30:00Z"])
        #expect(try ticks("0 12 * MAY-JUN SAT", after: "2024-06-25T00:00:00Z", count: 2)
            == ["2024-06-29T12:00:00Z", "2025-05-03T12:00:00Z"])
    }

    @Test("day-of-week 0 and 7 are both Sunday; ? means *")
    func sundayAndQuestionMark() throws {
        let sunday = ["2024-05-05T00:00:00Z", "2024-05-12T00:00:00Z"]
        #expect(try ticks("0 0 * * 0", after: "2024-05-01T00:00:00Z", count: 2) == sunday)
        #expect(try ticks("0 0 * * 7", after: "2024-05-01T00:00:00Z", count: 2) == sunday)
        #expect(try ticks("0 0 * * SUN", after: "2024-05-01T00:00:00Z", count: 2) == sunday)
        #expect(try ticks("0 0 ? * 5-7", after: "2024-05-03T12:00:00Z", count: 3)
            == ["2024-05-04T00:00:00Z", "2024-05-05T00:00:00Z", "2024-05-10T00:00:00Z"])
        #expect(try ticks("0 0 1 * ?", after: "2024-05-03T12:00:00Z", count: 1) == ["2024-06-01T00:00:00Z"])
    }

    @Test("both day fields restricted: a day matches if either matches")
    func dayOrRule() throws {
        // The 13th, or any Friday. 2024-09-06 and 2024-09-13 are Fridays.
        #expect(try ticks("0 0 13 * FRI", after: "2024-09-01T00:00:00Z", count: 4) == [
            "2024-09-06T00:00:00Z", "2024-09-13T00:00:00Z", "2024-09-20T00:00:00Z", "2024-09-27T00:00:00Z",
        ])
        #expect(try ticks("0 0 1 * MON", after: "2024-09-24T00:00:00Z", count: 3)
            == ["2024-09-30T00:00:00Z", "2024-10-01T00:00:00Z", "2024-10-07T00:00:00Z"])
    }

    @Test("a day field starting with * combines with AND, as in vixie cron")
    func starDayFieldIsAnd() throws {
        // Odd days (*/2 starts at 1) that are Mondays: 2024-09-09 is a Monday on an odd day; 09-02 and 09-16 are even.
        #expect(try ticks("0 0 */2 * MON", after: "2024-09-01T00:00:00Z", count: 2)
            == ["2024-09-09T00:00:00Z", "2024-09-23T00:00:00Z"])
    }

    @Test("macros expand to their five-field forms", arguments: [
        ("@yearly", "2025-01-01T00:00:00Z"), ("@annually", "2025-01-01T00:00:00Z"),
        ("@monthly", "2024-06-01T00:00:00Z"), ("@weekly", "2024-05-05T00:00:00Z"),
        ("@daily", "2024-05-02T00:00:00Z"), ("@midnight", "2024-05-02T00:00:00Z"),
        ("@hourly", "2024-05-01T11:00:00Z"), ("@DAILY", "2024-05-02T00:00:00Z"),
    ])
    func macros(text: String, expected: String) throws {
        #expect(try ticks(text, after: "2024-05-01T10:30:00Z", count: 1) == [expected])
    }

    @Test("a schedule that never fires gives nil (the search is bounded, it does not spin)")
    func neverFires() throws {
        let cron = try CronExpression("0 0 30 2 *")
        let start = try instant("2024-01-01T00:00:00Z")
        #expect(cron.next(after: start) == nil)
        #expect(cron.previous(atOrBefore: start) == nil)
    }

    @Test("29 February is found years ahead")
    func leapDay() throws {
        #expect(try ticks("0 0 29 2 *", after: "2024-03-01T00:00:00Z", count: 2)
            == ["2028-02-29T00:00:00Z", "2032-02-29T00:00:00Z"])
        let cron = try CronExpression("0 0 29 2 *")
        #expect(local(cron.previous(atOrBefore: try instant("2027-01-01T00:00:00Z"))) == "2024-02-29T00:00:00Z")
    }

    @Test("crossing month and year ends")
    func yearEnd() throws {
        #expect(try ticks("59 23 31 12 *", after: "2024-12-31T23:59:00Z", count: 1) == ["2025-12-31T23:59:00Z"])
        #expect(try ticks("0 0 31 * *", after: "2024-01-31T00:00:00Z", count: 3)
            == ["2024-03-31T00:00:00Z", "2024-05-31T00:00:00Z", "2024-07-31T00:00:00Z"])
    }

    @Test("previous(atOrBefore:) on an exact tick returns that tick")
    func previousOnTick() throws {
        let cron = try CronExpression("0 3 * * *")
        #expect(local(cron.previous(atOrBefore: try instant("2024-05-01T03:00:00Z"))) == "2024-05-01T03:00:00Z")
        #expect(local(cron.previous(atOrBefore: try instant("2024-05-01T02:59:59Z"))) == "2024-04-30T03:00:00Z")
        #expect(local(cron.previous(atOrBefore: try instant("2024-05-01T17:20:00Z"))) == "2024-05-01T03:00:00Z")
        let quarter = try CronExpression("*/15 * * * *")
        let date = try instant("2024-05-01T10:14:59Z").addingTimeInterval(0.9)
        #expect(local(quarter.previous(atOrBefore: date)) == "2024-05-01T10:00:00Z")
        #expect(local(try CronExpression("@yearly").previous(atOrBefore: try instant("2024-05-01T00:00:00Z")))
            == "2024-01-01T00:00:00Z")
    }

    @Test("source and default time zone are kept")
    func properties() throws {
        let cron = try CronExpression("  */5 * * * *")
        #expect(cron.source == "  */5 * * * *")
        #expect(cron.description == cron.source)
        #expect(cron.timeZone.secondsFromGMT(for: Date()) == 0)
        #expect(try CronExpression("0 3 * * *") == CronExpression("0 3 * * *"))
    }

    @Test("next agrees with a minute-by-minute scan", arguments: [
        "*/15 * * * *", "0 9-17/2 * * MON-FRI", "0 0 13 * FRI", "7 6 1-7 * 1", "0 0 */2 * MON",
    ])
    func bruteForce(text: String) throws {
        let cron = try CronExpression(text)
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let start = try instant("2024-02-20T00:00:00Z")
        let matches = bruteForceMatcher(text)
        var expected: [Date] = []
        for minute in 1...(45 * 24 * 60) {
            let date = start.addingTimeInterval(Double(minute * 60))
            let parts = calendar.dateComponents([.minute, .hour, .day, .month, .weekday], from: date)
            if matches(parts.minute!, parts.hour!, parts.day!, parts.month!, parts.weekday! - 1) { expected.append(date) }
        }
        var actual: [Date] = []
        var cursor = start
        while let next = cron.next(after: cursor), next <= expected.last ?? start {
            actual.append(next)
            cursor = next
        }
        #expect(actual == expected)
        for tick in expected.prefix(20) {
            #expect(cron.previous(atOrBefore: tick) == tick)
            #expect(cron.next(after: tick.addingTimeInterval(-1)) == tick)
        }
    }

    /// Hand-written predicates for the brute-force test, so it does not check the parser against itself.
    private func bruteForceMatcher(_ text: String) -> (Int, Int, Int, Int, Int) -> Bool {
        switch text {
        case "*/15 * * * *": { minute, _, _, _, _ in minute % 15 == 0 }
        case "0 9-17/2 * * MON-FRI": { m, h, _, _, w in m == 0 && [9, 11, 13, 15, 17].contains(h) && (1...5).contains(w) }
        case "0 0 13 * FRI": { m, h, d, _, w in m == 0 && h == 0 && (d == 13 || w == 5) }
        case "7 6 1-7 * 1": { m, h, d, _, w in m == 7 && h == 6 && (d <= 7 || w == 1) }
        case "0 0 */2 * MON": { m, h, d, _, w in m == 0 && h == 0 && d % 2 == 1 && w == 1 }
        default: { _, _, _, _, _ in false }
        }
    }
}
