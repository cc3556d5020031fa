@testable import BlacklightCore
import Foundation
import PropertyBased
import Testing

/// Cron expressions built from random fields, in zones with daylight saving time: every input is a
/// valid expression, which byte mutation rarely produces, and a calendar tells what a tick must be.
@Suite struct CronProperties {
    static let zones = [
        "UTC", "Europe/Paris", "America/New_York", "Australia/Lord_Howe", "Pacific/Chatham", "America/Santiago",
        "Asia/Kolkata",
    ]

    /// One field: `*`, `*/s`, `a`, `a-b`, `a-b/s` or `a/s`, sometimes a list of two.
    static func field(_ bounds: ClosedRange<Int>, _ rng: inout any SeededRandomNumberGenerator) -> String {
        func element(_ rng: inout any SeededRandomNumberGenerator) -> String {
            let a = Int.random(in: bounds, using: &rng)
            let b = Int.random(in: a...bounds.upperBound, using: &rng)
            let step = Int.random(in: 1...max(1, bounds.count / 2), using: &rng)
            return switch Int.random(in: 0..<6, using: &rng) {
            case 0: "*"
            case 1: "*/\(step)"
            case 2: "\(a)"
            case 3: "\(a)-\(b)"
            case 4: "\(a)-\(b)/\(step)"
            default: "\(a)/\(step)"
            }
        }
        let first = element(&rng)
        return Bool.random(using: &rng) ? first : "\(first),\(element(&rng))"
    }

    static let schedules = Generator<(text: String, start: Int64), Shrink.None<(text: String, start: Int64)>> { rng in
        let zone = zones.randomElement(using: &rng)!
        let fields = [field(0...59, &rng), field(0...23, &rng), field(1...31, &rng), field(1...12, &rng), field(0...7, &rng)]
        // 1900 to 2200: both sides of 1970 and of today's DST rules.
        let start = Int64.random(in: -2_208_988_800...7_258_118_400, using: &rng)
        return (text: "TZ=\(zone) " + fields.joined(separator: " "), start: start)
    }

    @Test func nextAndPreviousAgree() async {
        await propertyCheck(count: 400, input: Self.schedules) { schedule in
            let expression = try CronExpression(schedule.text)
            #expect(throws: Never.self, "\(schedule.text) from \(schedule.start)") {
                try CronCheck.checkNeighbours(expression, around: Date(timeIntervalSince1970: TimeInterval(schedule.start)))
            }
        }
    }

    /// Each tick is a wall time the fields allow, read back through Foundation's calendar; ticks rise.
    @Test func ticksMatchTheirFieldsAndRise() async {
        await propertyCheck(count: 300, input: Self.schedules) { schedule in
            let expression = try CronExpression(schedule.text)
            var calendar = Calendar(identifier: .gregorian)
            calendar.timeZone = expression.timeZone
            var after = Date(timeIntervalSince1970: TimeInterval(schedule.start))
            for _ in 0..<5 {
                guard let tick = expression.next(after: after) else { return }
                #expect(tick > after)
                let parts = calendar.dateComponents([.minute, .hour, .day, .month, .weekday], from: tick)
                let wall = WallTime(year: 2000, month: parts.month!, day: parts.day!, hour: parts.hour!, minute: parts.minute!)
                let day = expression.daysOfMonth.contains(parts.day!)
                let weekday = expression.daysOfWeek.contains(parts.weekday! - 1)
                let dayMatches = expression.daysOfMonth.isStar || expression.daysOfWeek.isStar ? day && weekday : day || weekday
                #expect(
                    expression.minutes.contains(wall.minute) && expression.hours.contains(wall.hour)
                        && expression.months.contains(wall.month) && dayMatches,
                    "\(schedule.text): tick \(tick) is \(parts) in \(expression.timeZone.identifier)")
                after = tick
            }
        }
    }
}
