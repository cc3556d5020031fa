import Foundation

extension CronExpression {
    /// How far `next` and `previous` look before giving up. Nine years covers 29 February across a
    /// century that skips its leap day (2096 → 2104); schedules that never fire (`0 0 30 2 *`) stop here.
    static let searchHorizon: Int64 = 9 * 366 * 86_400

    /// The first tick strictly after `date`, or nil if there is none within the search horizon.
    public func next(after date: Date) -> Date? {
        guard let after = wholeSeconds(date) else { return nil }
        let horizon = after + Self.searchHorizon
        // Walk the time line one stretch of constant UTC offset at a time. Within a stretch, wall time
        // and instants map one to one, so the wall-time search is exact; the gap of a spring-forward
        // transition lies between two stretches and is never visited.
        var stretchStart = after + 1
        while stretchStart < horizon {
            let offset = utcOffset(at: stretchStart)
            let stretchEnd = min(transition(after: stretchStart) ?? horizon, horizon)
            var wallFrom = ceilToMinute(stretchStart + offset)
            while let wall = firstMatch(from: WallTime(wallSeconds: wallFrom), before: stretchEnd + offset) {
                let instant = wall.wallSeconds - offset
                if !firesInRepeatedHour && isRepeatedOccurrence(instant, offset: offset) {
                    wallFrom = wall.wallSeconds + 60
                    continue
                }
                return Date(timeIntervalSince1970: TimeInterval(instant))
            }
            stretchStart = stretchEnd
        }
        return nil
    }

    /// The latest tick at or before `date` (`date` itself when it is a tick), or nil if there is none
    /// within the search horizon. The scheduler uses it to find the most recent tick it missed.
    public func previous(atOrBefore date: Date) -> Date? {
        guard let upper = wholeSeconds(date) else { return nil }
        let lowerLimit = upper - Self.searchHorizon
        // TimeZone only reports the next transition, so look backwards in windows: list each window's
        // transitions going forward, then search its stretches from the latest one down.
        var windowEnd = upper + 1  // exclusive
        while windowEnd > lowerLimit {
            let windowStart = max(windowEnd - 400 * 86_400, lowerLimit)
            var stretchStarts = [windowStart]
            var probe = windowStart
            while let next = transition(after: probe), next < windowEnd {
                stretchStarts.append(next)
                probe = next
            }
            var stretchEnd = windowEnd
            for stretchStart in stretchStarts.reversed() {
                let offset = utcOffset(at: stretchStart)
                var wallFrom = floorToMinute(stretchEnd - 1 + offset)
                while let wall = lastMatch(from: WallTime(wallSeconds: wallFrom), notBefore: stretchStart + offset) {
                    let instant = wall.wallSeconds - offset
                    if !firesInRepeatedHour && isRepeatedOccurrence(instant, offset: offset) {
                        wallFrom = wall.wallSeconds - 60
                        continue
                    }
                    return Date(timeIntervalSince1970: TimeInterval(instant))
                }
                stretchEnd = stretchStart
            }
            windowEnd = windowStart
        }
        return nil
    }

    // MARK: Searching wall time

    /// The first matching wall time at or after `start` and before `limit` (wall seconds, exclusive).
    /// Skips a whole month, day or hour as soon as one field rules it out.
    func firstMatch(from start: WallTime, before limit: Int64) -> WallTime? {
        var wall = start
        while wall.wallSeconds < limit {
            if !months.contains(wall.month) {
                wall = if let month = months.first(after: wall.month) {
                    WallTime(year: wall.year, month: month, day: 1, hour: 0, minute: 0)
                } else {
                    WallTime(year: wall.year + 1, month: months.smallest, day: 1, hour: 0, minute: 0)
                }
            } else if !matchesDay(wall) {
                wall = wall.startOfNextDay()
            } else if !hours.contains(wall.hour) {
                if let hour = hours.first(after: wall.hour) {
                    (wall.hour, wall.minute) = (hour, 0)
                } else {
                    wall = wall.startOfNextDay()
                }
            } else if !minutes.contains(wall.minute) {
                if let minute = minutes.first(after: wall.minute) {
                    wall.minute = minute
                } else {
                    wall = wall.startOfNextHour()
                }
            } else {
                return wall
            }
        }
        return nil
    }

    /// The last matching wall time at or before `start` and at or after `lower` (wall seconds).
    func lastMatch(from start: WallTime, notBefore lower: Int64) -> WallTime? {
        var wall = start
        while wall.wallSeconds >= lower {
            if !months.contains(wall.month) {
                wall = if let month = months.last(before: wall.month) {
                    WallTime.endOfMonth(year: wall.year, month: month)
                } else {
                    WallTime.endOfMonth(year: wall.year - 1, month: months.largest)
                }
            } else if !matchesDay(wall) {
                wall = wall.endOfPreviousDay()
            } else if !hours.contains(wall.hour) {
                if let hour = hours.last(before: wall.hour) {
                    (wall.hour, wall.minute) = (hour, 59)
                } else {
                    wall = wall.endOfPreviousDay()
                }
            } else if !minutes.contains(wall.minute) {
                if let minute = minutes.last(before: wall.minute) {
                    wall.minute = minute
                } else {
                    wall = wall.endOfPreviousHour()
                }
            } else {
                return wall
            }
        }
        return nil
    }

    // MARK: Time zone

    /// True when the wall time of `instant` was already shown earlier, i.e. `instant` falls in the
    /// second pass through a fall-back hour.
    private func isRepeatedOccurrence(_ instant: Int64, offset: Int64) -> Bool {
        // Assumes at most one transition a day, true of every zone in the tz database in our horizon.
        let dayBefore = utcOffset(at: instant - 86_400)
        guard dayBefore > offset else { return false }
        return utcOffset(at: instant - (dayBefore - offset)) == dayBefore
    }

    private func utcOffset(at instant: Int64) -> Int64 {
        Int64(timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(instant))))
    }

    /// The next offset change strictly after `instant`, in whole seconds.
    private func transition(after instant: Int64) -> Int64? {
        guard let date = timeZone.nextDaylightSavingTimeTransition(after: Date(timeIntervalSince1970: TimeInterval(instant)))
        else { return nil }
        let seconds = Int64(date.timeIntervalSince1970.rounded(.up))
        return seconds > instant ? seconds : instant + 1  // never step backwards, whatever the platform says
    }

    /// `date` floored to whole seconds: ticks are whole minutes, so "after date" is "after its second".
    /// Nil for dates beyond any meaningful calendar (and NaN).
    private func wholeSeconds(_ date: Date) -> Int64? {
        let seconds = date.timeIntervalSince1970.rounded(.down)
        guard seconds.isFinite, abs(seconds) < 1e13 else { return nil }
        return Int64(seconds)
    }

    private func ceilToMinute(_ seconds: Int64) -> Int64 { floorDivide(seconds + 59, 60) * 60 }
    private func floorToMinute(_ seconds: Int64) -> Int64 { floorDivide(seconds, 60) * 60 }
}
