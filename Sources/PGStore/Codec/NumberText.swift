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

    /// strtod over a bounded buffer (copied to a NUL-terminated stack buffer: array elements are not terminated).
    /// Accepts PostgreSQL's "NaN", "Infinity", "-Infinity".
    static func parseDouble(_ p: UnsafeBufferPointer<UInt8>) -> Double? {
        withTerminated(p) { s, n in
            var end: UnsafeMutablePointer<CChar>?
            let v = strtod(s, &end)
            return n > 0 && end.map { UnsafePointer($0) } == s + n ? v : nil
        }
    }

    /// strtof directly, not strtod then narrowing, so a real[] element decodes to exactly the stored Float.
    static func parseFloat(_ p: UnsafeBufferPointer<UInt8>) -> Float? {
        withTerminated(p) { s, n in
            var end: UnsafeMutablePointer<CChar>?
            let v = strtof(s, &end)
            return n > 0 && end.map { UnsafePointer($0) } == s + n ? v : nil
        }
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
