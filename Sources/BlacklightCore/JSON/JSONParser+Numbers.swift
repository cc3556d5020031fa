extension JSONParser {
    mutating func parseNumber() throws(JSONError) -> JSONValue {
        let start = index
        let negative = bytes[index] == UInt8(ascii: "-")
        if negative { index += 1 }
        // Integer part: "0" alone, or a non-zero digit followed by digits. A leading zero followed by
        // more digits ends the number at the zero, and the next digit is reported as unexpected.
        guard index < bytes.count, isDigit(bytes[index]) else { throw unexpected() }
        if bytes[index] == UInt8(ascii: "0") {
            index += 1
        } else {
            while index < bytes.count, isDigit(bytes[index]) { index += 1 }
        }
        let integerEnd = index
        var isIntegral = true
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            isIntegral = false
            index += 1
            try requireDigits()
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            isIntegral = false
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
                index += 1
            }
            try requireDigits()
        }
        if isIntegral, let value = integer(from: negative ? start + 1 : start, to: integerEnd, negative: negative) {
            return .int(value)
        }
        if isIntegral && exactNumbers {
            throw JSONError(message: "the integer \(numberText(start)) at offset \(start) does not fit in 64 bits "
                + "(from -9223372036854775808 to 9223372036854775807): send it as a string", offset: start)
        }
        if let value = fastDouble(from: negative ? start + 1 : start, to: index, negative: negative) {
            return .double(value)
        }
        // The lexical form is already validated, so Double's own parser (correctly rounded) only
        // ever sees well-formed JSON numbers. Beyond Double's range it yields ±infinity.
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
        guard let value = Double(text) else {
            throw JSONError(message: "invalid number at offset \(start)", offset: start)
        }
        if exactNumbers && !value.isFinite {
            throw JSONError(message: "the number \(numberText(start)) at offset \(start) is beyond the range of a "
                + "64-bit float (about ±1.8e308): send it as a string", offset: start)
        }
        return .double(value)
    }

    /// The number that starts at `start` as written, shortened when long (it goes into an error message).
    private func numberText(_ start: Int) -> String {
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
        return text.count > 40 ? String(text.prefix(37)) + "..." : text
    }

    private mutating func requireDigits() throws(JSONError) {
        guard index < bytes.count, isDigit(bytes[index]) else { throw unexpected() }
        while index < bytes.count, isDigit(bytes[index]) { index += 1 }
    }

    /// The digits in `start..<end` as an Int64, or nil when they overflow (the caller falls back to Double).
    private func integer(from start: Int, to end: Int, negative: Bool) -> Int64? {
        var value: Int64 = 0
        for position in start..<end {
            let digit = Int64(bytes[position] &- UInt8(ascii: "0"))
            let (shifted, overflow1) = value.multipliedReportingOverflow(by: 10)
            // Accumulating negatively reaches Int64.min, which has no positive counterpart.
            let (next, overflow2) = negative
                ? shifted.subtractingReportingOverflow(digit)
                : shifted.addingReportingOverflow(digit)
            if overflow1 || overflow2 { return nil }
            value = next
        }
        return value
    }

    /// Exact powers of ten that a Double holds without rounding.
    private static let powersOfTen: [Double] = (0...22).map { exponent in
        (0..<exponent).reduce(1.0) { power, _ in power * 10 }
    }

    /// Clinger's fast path: when the significant digits fit in 2^53 and the decimal exponent is within
    /// ±22, both factors are exact Doubles and one multiplication or division rounds correctly. That
    /// covers most real-world numbers (scores, prices, coordinates) without building a String for
    /// Double's parser, which was the largest cost of parsing numeric arrays. Returns nil to fall back.
    private func fastDouble(from start: Int, to end: Int, negative: Bool) -> Double? {
        var mantissa: UInt64 = 0
        var digits = 0
        var exponent = 0
        var position = start
        while position < end, isDigit(bytes[position]) || bytes[position] == UInt8(ascii: ".") {
            if bytes[position] == UInt8(ascii: ".") {
                position += 1
                continue
            }
            if mantissa > 0 || bytes[position] != UInt8(ascii: "0") { digits += 1 }
            guard digits <= 16 else { return nil }
            mantissa = mantissa * 10 + UInt64(bytes[position] - UInt8(ascii: "0"))
            position += 1
        }
        // Digits after the point scale the mantissa down.
        if let point = bytes[start..<position].firstIndex(of: UInt8(ascii: ".")) {
            exponent -= position - point - 1
        }
        if position < end {  // "e", optional sign, digits
            position += 1
            var sign = 1
            if bytes[position] == UInt8(ascii: "-") || bytes[position] == UInt8(ascii: "+") {
                sign = bytes[position] == UInt8(ascii: "-") ? -1 : 1
                position += 1
            }
            var written = 0
            while position < end {
                written = written * 10 + Int(bytes[position] - UInt8(ascii: "0"))
                guard written < 10_000 else { return nil }
                position += 1
            }
            exponent += sign * written
        }
        guard mantissa <= 1 << 53, (-22...22).contains(exponent) else { return nil }
        let magnitude = exponent < 0
            ? Double(mantissa) / Self.powersOfTen[-exponent]
            : Double(mantissa) * Self.powersOfTen[exponent]
        return negative ? -magnitude : magnitude
    }

    private func isDigit(_ byte: UInt8) -> Bool {
        byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
    }
}
