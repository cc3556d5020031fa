/// One of the five fields of a cron expression, as the set of values it allows.
struct CronField: Sendable, Hashable {
    /// Which field this is: its name in messages, its range and its names.
    enum Kind: Sendable, Hashable {
        case minute, hour, dayOfMonth, month, dayOfWeek

        var name: String {
            switch self {
            case .minute: "minute"
            case .hour: "hour"
            case .dayOfMonth: "day-of-month"
            case .month: "month"
            case .dayOfWeek: "day-of-week"
            }
        }

        /// Values accepted in the text; day-of-week takes 7 as another Sunday.
        var bounds: ClosedRange<Int> {
            switch self {
            case .minute: 0...59
            case .hour: 0...23
            case .dayOfMonth: 1...31
            case .month: 1...12
            case .dayOfWeek: 0...7
            }
        }

        /// The range `*` stands for.
        var starRange: ClosedRange<Int> { self == .dayOfWeek ? 0...6 : bounds }

        var names: [String] {
            switch self {
            case .month: ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
            case .dayOfWeek: ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]
            default: []
            }
        }

        /// The value of the first name: months count from 1, weekdays from 0.
        var firstNameValue: Int { self == .month ? 1 : 0 }
    }

    /// Bit n set = value n allowed.
    let bits: UInt64
    /// The field's text starts with `*` or `?`. Vixie cron decides two things on this rather than on the
    /// resulting set: whether day-of-month and day-of-week combine with OR (both not star) or AND, and
    /// (in its DST handling) whether a job is a "wildcard" job. We follow it so crontabs behave as there.
    let isStar: Bool

    func contains(_ value: Int) -> Bool { bits & (1 << UInt64(value)) != 0 }

    /// The smallest allowed value greater than `value`.
    func first(after value: Int) -> Int? {
        guard value < 63 else { return nil }
        let higher = bits & (~0 << UInt64(value + 1))
        return higher == 0 ? nil : higher.trailingZeroBitCount
    }

    /// The largest allowed value smaller than `value`.
    func last(before value: Int) -> Int? {
        guard value > 0 else { return nil }
        let lower = bits & ((1 << UInt64(value)) - 1)
        return lower == 0 ? nil : 63 - lower.leadingZeroBitCount
    }

    var smallest: Int { bits.trailingZeroBitCount }
    var largest: Int { 63 - bits.leadingZeroBitCount }
}

extension CronField {
    /// Parses a field: a comma-separated list of `*`, `?`, `n`, `a-b`, each optionally followed by `/step`
    /// (`n/step` means `n-max/step`). The error thrown is the reason only; the expression adds its text.
    init(parsing text: Substring, kind: Kind) throws(CronError) {
        var bits: UInt64 = 0
        for element in text.split(separator: ",", omittingEmptySubsequences: false) {
            bits |= try CronField.parseElement(element, kind: kind)
        }
        if kind == .dayOfWeek, bits & (1 << 7) != 0 {
            bits = (bits | 1) & ~(1 << 7)  // 7 is Sunday too
        }
        self.bits = bits
        isStar = text.first == "*" || text.first == "?"
    }

    private static func parseElement(_ element: Substring, kind: Kind) throws(CronError) -> UInt64 {
        guard !element.isEmpty else { throw CronError(message: "\(kind.name) field has an empty list element") }
        let parts = element.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        let rangeText = parts[0]
        var step = 1
        if parts.count == 2 {
            guard let value = Int(parts[1]) else {
                throw CronError(message: "\(kind.name) step \"\(parts[1])\" is not a number")
            }
            guard value >= 1 else { throw CronError(message: "\(kind.name) step \(value) must be at least 1") }
            step = value
        }

        let range: ClosedRange<Int>
        if rangeText == "*" || rangeText == "?" {
            if rangeText == "?", kind != .dayOfMonth, kind != .dayOfWeek {
                throw CronError(message: "'?' is only allowed in day-of-month and day-of-week, not in \(kind.name)")
            }
            range = kind.starRange
        } else {
            let ends = rangeText.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
            let low = try value(ends[0], kind: kind)
            if ends.count == 2 {
                let high = try value(ends[1], kind: kind)
                guard low <= high else {
                    throw CronError(message: "\(kind.name) range \(rangeText) has its start after its end")
                }
                range = low...high
            } else {
                // "5/15" means from 5 to the end of the range, every 15; a plain "5" is just 5.
                range = parts.count == 2 ? low...max(low, kind.starRange.upperBound) : low...low
            }
        }

        var bits: UInt64 = 0
        for value in stride(from: range.lowerBound, through: range.upperBound, by: step) {
            bits |= 1 << UInt64(value)
        }
        return bits
    }

    private static func value(_ text: Substring, kind: Kind) throws(CronError) -> Int {
        let value: Int
        if !text.isEmpty, text.allSatisfy({ $0.isASCII && $0.isNumber }) {
            // All digits; only an absurdly long number fails to convert, and it is out of range anyway.
            value = Int(text) ?? Int.max
        } else if let index = kind.names.firstIndex(of: text.uppercased()) {
            value = index + kind.firstNameValue
        } else {
            let hint = switch kind {
            case .month: " or a month name (JAN-DEC)"
            case .dayOfWeek: " or a day name (SUN-SAT)"
            default: ""
            }
            throw CronError(message: "\(kind.name) value \"\(text)\" is not a number\(hint)")
        }
        guard kind.bounds.contains(value) else {
            let bounds = kind.bounds
            throw CronError(
                message: "\(kind.name) value \(text) out of range \(bounds.lowerBound)-\(bounds.upperBound)")
        }
        return value
    }
}
