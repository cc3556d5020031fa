import Foundation

/// Number ↔ ASCII without Foundation formatting or intermediate Strings (this runs once per bound parameter and
/// once per numeric result cell).
enum NumberText {
    static func appendDecimal(_ value: Int64, to out: inout [UInt8]) {
        if value < 0 { out.append(UInt8(ascii: "-")) }
        var m = value.magnitude
        if m < 10 { out.append(48 + UInt8(m)); return }
        // 20 digits hold UInt64.max; fill from the right, then copy once.
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { buf in
            var i = 20
            while m > 0 {
                i -= 1
                buf[i] = 48 + UInt8(m % 10)
                m /= 10
            }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: buf[i..<20]))
        }
    }

    /// PostgreSQL's float input accepts Swift's shortest round-trip `description` ("1.5", "1e-05"), but spells
    /// the special values its own way.
    static func appendDouble(_ value: Double, to out: inout [UInt8]) {
        if value.isNaN { out.append(contentsOf: "NaN".utf8) } else if value == .infinity {
            out.append(contentsOf: "Infinity".utf8)
        } else if value == -.infinity {
            out.append(contentsOf: "-Infinity".utf8)
        } else {
            out.append(contentsOf: value.description.utf8)
        }
    }

    static func appendFloat(_ value: Float, to out: inout [UInt8]) {
        if value.isNaN { out.append(contentsOf: "NaN".utf8) } else if value == .infinity {
            out.append(contentsOf: "Infinity".utf8)
        } else if value == -.infinity {
            out.append(contentsOf: "-Infinity".utf8)
        } else {
            out.append(contentsOf: value.description.utf8)
        }
    }

    /// A plain optionally-signed decimal integer; nil on anything else or overflow.
    static func parseInt(_ p: UnsafeBufferPointer<UInt8>) -> Int64? {
        guard !p.isEmpty else { return nil }
        var i = 0
        let negative = p[0] == UInt8(ascii: "-")
        if negative || p[0] == UInt8(ascii: "+") { i = 1 }
        guard i < p.count else { return nil }
        var m: UInt64 = 0
        while i < p.count {
            let d = p[i] &- 48
            guard d < 10 else { return nil }
            let (mul, o1) = m.multipliedReportingOverflow(by: 10)
            let (sum, o2) = mul.addingReportingOverflow(UInt64(d))
            guard !o1, !o2 else { return nil }
            m = sum
            i += 1
        }
        if negative {
            return m <= UInt64(Int64.max) + 1 ? Int64(truncatingIfNeeded: 0 &- m) : nil
        }
        return m <= UInt64(Int64.max) ? Int64(m) : nil
    }

    /// numeric text: an integer when there is no fractional part (or it is all zeros) and it fits, else a Double.
    static func parseNumeric(_ p: UnsafeBufferPointer<UInt8>) -> PGValue {
        if let dot = p.firstIndex(of: UInt8(ascii: ".")) {
            let fractionIsZero = p[(dot + 1)...].allSatisfy { $0 == UInt8(ascii: "0") }
            if fractionIsZero, let v = parseInt(UnsafeBufferPointer(rebasing: p[..<dot])) { return .int(v) }
        } else if let v = parseInt(p) {
            return .int(v)
        }
        return parseDouble(p).map(PGValue.double) ?? .text(String(decoding: p, as: UTF8.self))
    }

    /// A float8 from its text. Plain decimals of up to 15 digits with a power of ten up to 22 take Clinger's
    /// fast path (both operands exact, one correctly rounded IEEE operation); the rest, and "NaN", "Infinity",
    /// go to strtod (copied to a NUL-terminated buffer: array elements are not terminated).
    static func parseDouble(_ p: UnsafeBufferPointer<UInt8>) -> Double? {
        if let d = fastDecimal(p) { return d }
        return withTerminated(p) { s, n in
            var end: UnsafeMutablePointer<CChar>?
            let v = strtod(s, &end)
            return n > 0 && end.map { UnsafePointer($0) } == s + n ? v : nil
        }
    }

    /// A float4 from its text, exactly as the server stored it. Measured: glibc's strtof takes ≈87 ns per
    /// number here, which made a 384-float embedding cost ≈40 µs to decode; the fast path below is a few ns.
    ///
    /// Fast path: the decimal is converted to the nearest Double (Clinger, exact), then rounded to Float. That
    /// second rounding can only differ from rounding the decimal directly when the Double lands exactly on a
    /// midpoint between two Floats (no other Float midpoint can lie between the decimal and its nearest Double,
    /// since every Float midpoint is itself a Double); those rare cases go to strtof.
    static func parseFloat(_ p: UnsafeBufferPointer<UInt8>) -> Float? {
        if let d = fastDecimal(p) {
            // Low 29 of the 52 fraction bits are what rounding to Float drops; exactly 1000…0 is a tie.
            let isTie = d.bitPattern & 0x1FFF_FFFF == 0x1000_0000
            if !isTie, d == 0 || abs(d) >= Double(Float.leastNormalMagnitude) { return Float(d) }
        }
        return withTerminated(p) { s, n in
            var end: UnsafeMutablePointer<CChar>?
            let v = strtof(s, &end)
            return n > 0 && end.map { UnsafePointer($0) } == s + n ? v : nil
        }
    }

    /// Exact powers of ten a Double holds.
    private static let powersOfTen: [Double] = (0...22).map { e in (0..<e).reduce(1.0) { acc, _ in acc * 10 } }

    /// `[-]digits[.digits][e[±]digits]` with at most 15 significant digits and a decimal exponent within ±22,
    /// as the nearest Double; nil for anything else.
    private static func fastDecimal(_ p: UnsafeBufferPointer<UInt8>) -> Double? {
        let n = p.count
        var i = 0
        guard n > 0 else { return nil }
        let negative = p[0] == UInt8(ascii: "-")
        if negative { i = 1 }
        var mantissa: UInt64 = 0
        var digits = 0
        var exponent = 0
        var sawDigit = false
        while i < n, p[i] &- 48 < 10 {
            sawDigit = true
            if mantissa != 0 || p[i] != 48 { digits += 1 }
            mantissa = mantissa &* 10 &+ UInt64(p[i] &- 48)
            i += 1
        }
        if i < n, p[i] == UInt8(ascii: ".") {
            i += 1
            while i < n, p[i] &- 48 < 10 {
                sawDigit = true
                if mantissa != 0 || p[i] != 48 { digits += 1 }
                mantissa = mantissa &* 10 &+ UInt64(p[i] &- 48)
                exponent -= 1
                i += 1
            }
        }
        guard sawDigit, digits <= 15 else { return nil }
        if i < n, p[i] == UInt8(ascii: "e") || p[i] == UInt8(ascii: "E") {
            i += 1
            var expNegative = false
            if i < n, p[i] == UInt8(ascii: "-") || p[i] == UInt8(ascii: "+") {
                expNegative = p[i] == UInt8(ascii: "-")
                i += 1
            }
            var e = 0
            var expDigits = 0
            while i < n, p[i] &- 48 < 10, expDigits < 4 {
                e = e * 10 + Int(p[i] &- 48)
                expDigits += 1
                i += 1
            }
            guard expDigits > 0 else { return nil }
            exponent += expNegative ? -e : e
        }
        guard i == n, exponent >= -22, exponent <= 22 else { return nil }
        var value = Double(mantissa)
        value = exponent < 0 ? value / powersOfTen[-exponent] : value * powersOfTen[exponent]
        return negative ? -value : value
    }

    private static func withTerminated<R>(
        _ p: UnsafeBufferPointer<UInt8>, _ body: (UnsafePointer<CChar>, Int) -> R?
    ) -> R? {
        // Numbers in PostgreSQL's output are short, so this temporary buffer lives on the stack.
        let n = p.count
        return withUnsafeTemporaryAllocation(of: CChar.self, capacity: n + 1) { buf in
            for i in 0..<n { buf[i] = CChar(bitPattern: p[i]) }
            buf[n] = 0
            return body(UnsafePointer(buf.baseAddress!), n)
        }
    }
}
