/// A local date and time to the minute, as a clock on the wall shows it, with proleptic Gregorian
/// arithmetic done on integers.
///
/// Cron matching works on wall time; only the final step maps a wall time to an instant through the
/// time zone. Doing the field-skipping search with plain integer arithmetic rather than Calendar calls
/// keeps `next(after:)` to a few microseconds even for expressions that match once a year.
struct WallTime: Hashable {
    var year: Int
    var month: Int   // 1...12
    var day: Int     // 1...31
    var hour: Int    // 0...23
    var minute: Int  // 0...59

    /// The wall time of `seconds` counted from 1970-01-01 00:00 on the same wall clock, floored to the minute.
    init(wallSeconds seconds: Int64) {
        let days = floorDivide(seconds, 86_400)
        let secondOfDay = Int(seconds - days * 86_400)
        (year, month, day) = WallTime.civil(fromDays: days)
        hour = secondOfDay / 3600
        minute = secondOfDay % 3600 / 60
    }

    init(year: Int, month: Int, day: Int, hour: Int, minute: Int) {
        (self.year, self.month, self.day, self.hour, self.minute) = (year, month, day, hour, minute)
    }

    /// Seconds since 1970-01-01 00:00 on the same wall clock (the instant, were the offset zero).
    var wallSeconds: Int64 {
        WallTime.days(year: year, month: month, day: day) * 86_400 + Int64(hour * 3600 + minute * 60)
    }

    /// 0 = Sunday ... 6 = Saturday, as cron counts.
    var weekday: Int {
        // 1970-01-01 was a Thursday.
        Int(floorModulo(WallTime.days(year: year, month: month, day: day) + 4, 7))
    }

    var daysInMonth: Int { WallTime.daysIn(year: year, month: month) }

    // MARK: Moving to boundaries

    /// 00:00 of the day after.
    func startOfNextDay() -> WallTime {
        if day < daysInMonth { return WallTime(year: year, month: month, day: day + 1, hour: 0, minute: 0) }
        return month < 12
            ? WallTime(year: year, month: month + 1, day: 1, hour: 0, minute: 0)
            : WallTime(year: year + 1, month: 1, day: 1, hour: 0, minute: 0)
    }

    /// The next hour at minute 0.
    func startOfNextHour() -> WallTime {
        if hour < 23 { return WallTime(year: year, month: month, day: day, hour: hour + 1, minute: 0) }
        return startOfNextDay()
    }

    /// 23:59 of the day before.
    func endOfPreviousDay() -> WallTime {
        if day > 1 { return WallTime(year: year, month: month, day: day - 1, hour: 23, minute: 59) }
        return month > 1
            ? WallTime.endOfMonth(year: year, month: month - 1)
            : WallTime.endOfMonth(year: year - 1, month: 12)
    }

    /// Minute 59 of the hour before.
    func endOfPreviousHour() -> WallTime {
        if hour > 0 { return WallTime(year: year, month: month, day: day, hour: hour - 1, minute: 59) }
        return endOfPreviousDay()
    }

    static func endOfMonth(year: Int, month: Int) -> WallTime {
        WallTime(year: year, month: month, day: daysIn(year: year, month: month), hour: 23, minute: 59)
    }

    // MARK: Civil calendar (Howard Hinnant's days_from_civil / civil_from_days)

    static func isLeap(_ year: Int) -> Bool {
        year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
    }

    static func daysIn(year: Int, month: Int) -> Int {
        switch month {
        case 2: isLeap(year) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Days since 1970-01-01.
    static func days(year: Int, month: Int, day: Int) -> Int64 {
        let y = Int64(month <= 2 ? year - 1 : year)
        let era = floorDivide(y, 400)
        let yearOfEra = y - era * 400
        let shiftedMonth = Int64(month > 2 ? month - 3 : month + 9)
        let dayOfYear = (153 * shiftedMonth + 2) / 5 + Int64(day) - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    static func civil(fromDays days: Int64) -> (year: Int, month: Int, day: Int) {
        let z = days + 719_468
        let era = floorDivide(z, 146_097)
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let shiftedMonth = (5 * dayOfYear + 2) / 153
        let day = Int(dayOfYear - (153 * shiftedMonth + 2) / 5 + 1)
        let month = Int(shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9)
        let year = Int(yearOfEra + era * 400) + (month <= 2 ? 1 : 0)
        return (year, month, day)
    }
}

func floorDivide(_ value: Int64, _ divisor: Int64) -> Int64 {
    let quotient = value / divisor
    return (value % divisor != 0 && (value < 0) != (divisor < 0)) ? quotient - 1 : quotient
}

func floorModulo(_ value: Int64, _ divisor: Int64) -> Int64 {
    value - floorDivide(value, divisor) * divisor
}
