import Foundation
import Testing
import BlacklightCore

@Suite("CronExpression in time zones and across DST")
struct CronExpressionTimeZoneTests {
    let newYork = TimeZone(identifier: "America/New_York")!

    /// The next `count` ticks after `start`, as New York wall time with offset.
    private func ticks(_ cron: CronExpression, after start: String, count: Int) throws -> [String] {
        var date = try instant(start)
        var result: [String] = []
        for _ in 0..<count {
            guard let next = cron.next(after: date) else { break }
            result.append(local(next, cron.timeZone.identifier) ?? "?")
            date = next
        }
        return result
    }

    @Test("fields are read in the expression's time zone")
    func zoneArgument() throws {
        let cron = try CronExpression("0 3 * * *", timeZone: newYork)
        #expect(cron.timeZone == newYork)
        #expect(local(cron.next(after: try instant("2024-06-01T00:00:00Z"))) == "2024-06-01T07:00:00Z")
        #expect(local(cron.next(after: try instant("2024-12-01T00:00:00Z"))) == "2024-12-01T08:00:00Z")
    }

    @Test("TZ= and CRON_TZ= prefixes set the zone and win over the argument")
    func zonePrefix() throws {
        let paris = try CronExpression("TZ=Europe/Paris 0 3 * * *")
        #expect(paris.timeZone.identifier == "Europe/Paris")
        #expect(local(paris.next(after: try instant("2024-06-01T00:00:00Z"))) == "2024-06-01T01:00:00Z")
        let tokyo = try CronExpression("CRON_TZ=Asia/Tokyo 0 9 * * *", timeZone: newYork)
        #expect(tokyo.timeZone.identifier == "Asia/Tokyo")
        #expect(local(tokyo.next(after: try instant("2024-06-01T00:00:00Z"))) == "2024-06-02T00:00:00Z")
        let daily = try CronExpression("TZ=Asia/Kolkata @daily")
        #expect(local(daily.next(after: try instant("2024-06-01T00:00:00Z"))) == "2024-06-01T18:30:00Z")
    }

    @Test("spring forward: a nonexistent local time is skipped that day")
    func springForwardSkips() throws {
        // 2024-03-10 02:00 EST jumps to 03:00 EDT in New York; 02:30 does not exist.
        let cron = try CronExpression("30 2 * * *", timeZone: newYork)
        #expect(try ticks(cron, after: "2024-03-08T12:00:00-05:00", count: 3)
            == ["2024-03-09T02:30:00-05:00", "2024-03-11T02:30:00-04:00", "2024-03-12T02:30:00-04:00"])
        #expect(local(cron.previous(atOrBefore: try instant("2024-03-10T23:00:00-04:00")), "America/New_York")
            == "2024-03-09T02:30:00-05:00")
    }

    @Test("spring forward: a periodic schedule keeps its real interval")
    func springForwardPeriodic() throws {
        let cron = try CronExpression("*/30 * * * *", timeZone: newYork)
        #expect(try ticks(cron, after: "2024-03-10T01:00:00-05:00", count: 3)
            == ["2024-03-10T01:30:00-05:00", "2024-03-10T03:00:00-04:00", "2024-03-10T03:30:00-04:00"])
    }

    @Test("fall back: a repeated local time fires once")
    func fallBackFiresOnce() throws {
        // 2024-11-03 02:00 EDT falls back to 01:00 EST; 01:30 happens twice.
        let cron = try CronExpression("30 1 * * *", timeZone: newYork)
        #expect(try ticks(cron, after: "2024-11-02T12:00:00-04:00", count: 3)
            == ["2024-11-03T01:30:00-04:00", "2024-11-04T01:30:00-05:00", "2024-11-05T01:30:00-05:00"])
        // Asked from inside the repeated hour, it does not fire again at the second 01:30.
        #expect(local(cron.next(after: try instant("2024-11-03T01:10:00-05:00")), "America/New_York")
            == "2024-11-04T01:30:00-05:00")
        #expect(local(cron.previous(atOrBefore: try instant("2024-11-03T01:45:00-05:00")), "America/New_York")
            == "2024-11-03T01:30:00-04:00")
        #expect(local(cron.previous(atOrBefore: try instant("2024-11-03T01:30:00-05:00")), "America/New_York")
            == "2024-11-03T01:30:00-04:00")
    }

    @Test("fall back: schedules with a * minute or hour fire in both passes, keeping their interval")
    func fallBackPeriodic() throws {
        let halfHourly = try CronExpression("*/30 * * * *", timeZone: newYork)
        #expect(try ticks(halfHourly, after: "2024-11-03T01:00:00-04:00", count: 5) == [
            "2024-11-03T01:30:00-04:00", "2024-11-03T01:00:00-05:00", "2024-11-03T01:30:00-05:00",
            "2024-11-03T02:00:00-05:00", "2024-11-03T02:30:00-05:00",
        ])
        let hourly = try CronExpression("@hourly", timeZone: newYork)
        #expect(try ticks(hourly, after: "2024-11-03T00:30:00-04:00", count: 3)
            == ["2024-11-03T01:00:00-04:00", "2024-11-03T01:00:00-05:00", "2024-11-03T02:00:00-05:00"])
        #expect(local(hourly.previous(atOrBefore: try instant("2024-11-03T01:59:00-05:00")), "America/New_York")
            == "2024-11-03T01:00:00-05:00")
    }

    @Test("a zone with a 30-minute shift (Lord Howe)")
    func halfHourShift() throws {
        // Australia/Lord_Howe moves 02:00 -> 02:30 on 2024-10-06.
        let cron = try CronExpression("TZ=Australia/Lord_Howe 15 2 * * *")
        #expect(try ticks(cron, after: "2024-10-05T12:00:00+10:30", count: 2)
            == ["2024-10-07T02:15:00+11:00", "2024-10-08T02:15:00+11:00"])
    }

    @Test("next and previous agree with a minute-by-minute scan across both New York transitions", arguments: [
        ("30 2 * * *", false), ("30 1 * * *", false), ("15 1,2 * * *", false), ("*/20 * * * *", true),
        ("0 * * * *", true), ("*/10 1 * * *", true),
    ])
    func bruteForce(text: String, wild: Bool) throws {
        let cron = try CronExpression(text, timeZone: newYork)
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = newYork
        let fields = text.split(separator: " ")
        func allowed(_ field: Substring, _ value: Int) -> Bool {
            if field == "*" { return true }
            if field.hasPrefix("*/") { return value % Int(field.dropFirst(2))! == 0 }
            return field.split(separator: ",").contains { Int($0)! == value }
        }
        for start in ["2024-03-08T00:00:00-05:00", "2024-11-01T00:00:00-04:00"] {
            let from = try instant(start)
            var expected: [Date] = []
            for minute in 1...(5 * 24 * 60) {
                let date = from.addingTimeInterval(Double(minute * 60))
                let wall = calendar.dateComponents([.day, .hour, .minute], from: date)
                let hourEarlier = calendar.dateComponents([.day, .hour, .minute], from: date.addingTimeInterval(-3600))
                let secondPass = wall == hourEarlier
                if allowed(fields[0], wall.minute!), allowed(fields[1], wall.hour!), wild || !secondPass {
                    expected.append(date)
                }
            }
            var actual: [Date] = []
            var cursor = from
            while let next = cron.next(after: cursor), next <= expected.last! {
                actual.append(next)
                cursor = next
            }
            #expect(actual.map { local($0, "America/New_York") } == expected.map { local($0, "America/New_York") })
            for (index, tick) in expected.enumerated() where index > 0 {
                #expect(cron.previous(atOrBefore: tick.addingTimeInterval(-1)) == expected[index - 1])
            }
        }
    }

    @Test("jitter offset is deterministic, within range and varies by key and tick")
    func jitter() throws {
        let tick = try instant("2024-05-01T03:00:00Z")
        let offset = CronExpression.jitterOffset(maxSeconds: 60, key: "expire-old-jobs", tick: tick)
        #expect(offset == CronExpression.jitterOffset(maxSeconds: 60, key: "expire-old-jobs", tick: tick))
        #expect(offset >= 0 && offset < 60)
        #expect(CronExpression.jitterOffset(maxSeconds: 0, key: "a", tick: tick) == 0)
        #expect(CronExpression.jitterOffset(maxSeconds: -5, key: "a", tick: tick) == 0)
        let offsets = (0..<200).map {
            CronExpression.jitterOffset(maxSeconds: 60, key: "fn-\($0 % 7)", tick: tick.addingTimeInterval(Double($0) * 900))
        }
        #expect(offsets.allSatisfy { $0 >= 0 && $0 < 60 })
        #expect(Set(offsets).count > 190)
        #expect(offsets.filter { $0 < 30 }.count > 60 && offsets.filter { $0 >= 30 }.count > 60)
        let otherKey = CronExpression.jitterOffset(maxSeconds: 60, key: "cleanup-stale-sessions", tick: tick)
        #expect(otherKey != offset)
    }
}
