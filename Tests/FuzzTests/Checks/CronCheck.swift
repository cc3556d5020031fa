import BlacklightCore
import Foundation

/// Cron: the first line of the input is the expression, an optional second line the start time in
/// seconds since 1970 and a third the jitter bound. Whatever parses must have `next` and `previous`
/// agree with each other: each tick they return is a tick of the other, and none lies between.
enum CronCheck {
    /// 2026-01-01T00:00:00Z when the input gives no start.
    static let defaultStart: Int64 = 1_767_225_600

    static func check(_ input: UnsafeBufferPointer<UInt8>) throws(FuzzFailure) {
        let lines = String(decoding: input, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
        let text = String(lines[0])
        let expression: CronExpression
        do {
            expression = try CronExpression(text)
        } catch {
            guard error.message.hasPrefix("invalid cron expression") else {
                throw FuzzFailure("refusal does not say what it refused: \(error.message)")
            }
            return
        }
        guard expression.description == text else { throw FuzzFailure("description \(expression) is not the source") }
        // Far enough either way to cross years, centuries and the search horizon's edges.
        let seconds = lines.count > 1 ? Int64(lines[1].prefix(15)) ?? defaultStart : defaultStart
        let start = Date(timeIntervalSince1970: TimeInterval(seconds))
        try checkNeighbours(expression, around: start)
        if lines.count > 2, let bound = Double(lines[2].prefix(20)) {
            let offset = CronExpression.jitterOffset(maxSeconds: bound, key: text, tick: start)
            guard offset == 0 || (offset > 0 && offset < bound) else {
                throw FuzzFailure("jitter \(offset) outside [0, \(bound))")
            }
        }
    }

    static func checkNeighbours(_ expression: CronExpression, around start: Date) throws(FuzzFailure) {
        let next = expression.next(after: start)
        if let next {
            guard next > start else { throw FuzzFailure("next(after: \(start)) = \(next) is not after it") }
            // A whole minute on the wall clock: before time zones were standardised, offsets had seconds
            // (Paris was +0:09:21), so the instant itself need not be a whole UTC minute.
            let wall = next.timeIntervalSince1970 + Double(expression.timeZone.secondsFromGMT(for: next))
            guard wall.truncatingRemainder(dividingBy: 60) == 0 else {
                throw FuzzFailure("next(after: \(start)) = \(next) is not a whole minute in \(expression.timeZone.identifier)")
            }
            guard expression.previous(atOrBefore: next) == next else {
                throw FuzzFailure("previous(atOrBefore: \(next)) = \(describe(expression.previous(atOrBefore: next))), not the tick itself")
            }
            let justBefore = next.addingTimeInterval(-1)
            guard expression.next(after: justBefore) == next else {
                throw FuzzFailure("next(after: \(justBefore)) = \(describe(expression.next(after: justBefore))), expected \(next)")
            }
        }
        if let previous = expression.previous(atOrBefore: start) {
            guard previous <= start else { throw FuzzFailure("previous(atOrBefore: \(start)) = \(previous) is after it") }
            // No tick lies in (previous, start], so the tick after `previous` is the tick after `start`.
            if let following = expression.next(after: previous) {
                guard following > start, following == next else {
                    throw FuzzFailure(
                        "next(after: previous \(previous)) = \(following), but next(after: \(start)) = \(describe(next))")
                }
            }
        }
    }

    private static func describe(_ date: Date?) -> String { date.map { "\($0)" } ?? "nil" }
}
