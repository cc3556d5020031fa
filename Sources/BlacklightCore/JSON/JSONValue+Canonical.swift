extension JSONValue {
    /// The JSON Canonicalization Scheme (RFC 8785) text of this value: sorted keys, no whitespace, numbers as
    /// ECMAScript prints them (`1` for 1.0, `0.00001`, `1e-7`, `1e+21`). Inngest signs and verifies request bodies
    /// over this form (the Python SDK's `transforms.canonicalize`), so a body signed as sent must already be canonical.
    public func canonicalized() -> String {
        var output: [UInt8] = []
        output.reserveCapacity(64)
        Self.writeCanonical(self, to: &output)
        return String(decoding: output, as: UTF8.self)
    }

    private static func writeCanonical(_ value: JSONValue, to output: inout [UInt8]) {
        switch value {
        case .double(let number):
            output.append(contentsOf: ecmaScriptText(number).utf8)
        case .array(let elements):
            output.append(UInt8(ascii: "["))
            for (position, element) in elements.enumerated() {
                if position > 0 { output.append(UInt8(ascii: ",")) }
                writeCanonical(element, to: &output)
            }
            output.append(UInt8(ascii: "]"))
        case .object(let members):
            output.append(UInt8(ascii: "{"))
            // RFC 8785 orders keys by their UTF-16 code units.
            let sorted = members.sorted { Array($0.key.utf16).lexicographicallyPrecedes(Array($1.key.utf16)) }
            for (position, member) in sorted.enumerated() {
                if position > 0 { output.append(UInt8(ascii: ",")) }
                JSONWriter.writeString(member.key, to: &output)
                output.append(UInt8(ascii: ":"))
                writeCanonical(member.value, to: &output)
            }
            output.append(UInt8(ascii: "}"))
        default:
            JSONWriter.write(value, to: &output)
        }
    }

    /// ECMAScript's Number::toString for a finite double (NaN and infinities, which JSON cannot hold, are `null`).
    static func ecmaScriptText(_ number: Double) -> String {
        guard number.isFinite else { return "null" }
        if number == 0 { return "0" }
        if number < 0 { return "-" + ecmaScriptText(-number) }
        // Swift's description has the shortest round-trip digits; only the layout differs from ECMAScript's.
        let text = number.description.lowercased()
        var mantissa = Substring(text)
        var exponent = 0
        if let e = text.firstIndex(of: "e") {
            mantissa = text[..<e]
            exponent = Int(text[text.index(after: e)...]) ?? 0
        }
        var digits = ""
        var pointAt = mantissa.count
        if let dot = mantissa.firstIndex(of: ".") {
            pointAt = mantissa.distance(from: mantissa.startIndex, to: dot)
            digits = String(mantissa[..<dot]) + String(mantissa[mantissa.index(after: dot)...])
        } else {
            digits = String(mantissa)
        }
        // value = 0.d1d2…dk × 10^n
        var n = pointAt + exponent
        while digits.hasPrefix("0") && digits.count > 1 { digits.removeFirst(); n -= 1 }
        while digits.hasSuffix("0") && digits.count > 1 { digits.removeLast() }
        let k = digits.count
        if k <= n && n <= 21 { return digits + String(repeating: "0", count: n - k) }
        if 0 < n && n <= 21 {
            let i = digits.index(digits.startIndex, offsetBy: n)
            return digits[..<i] + "." + digits[i...]
        }
        if -6 < n && n <= 0 { return "0." + String(repeating: "0", count: -n) + digits }
        let e = n - 1
        let sign = e < 0 ? "-" : "+"
        let head = digits.prefix(1)
        let tail = digits.dropFirst()
        return head + (tail.isEmpty ? "" : "." + tail) + "e" + sign + String(abs(e))
    }
}
