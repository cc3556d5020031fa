extension JSONParser {
    /// Parses the string starting at the opening quote under `index`.
    mutating func parseString() throws(JSONError) -> String {
        let quoteOffset = index
        let start = index + 1
        var position = start
        // Fast path: most strings have no escapes, so they become a String in one copy.
        while position < bytes.count {
            let byte = bytes[position]
            if byte == UInt8(ascii: "\"") {
                index = position + 1
                return try makeString(UnsafeBufferPointer(rebasing: bytes[start..<position]), at: start)
            }
            if byte == UInt8(ascii: "\\") { break }
            if byte < 0x20 { throw controlCharacter(at: position) }
            position += 1
        }
        guard position < bytes.count else { throw unterminated(quoteOffset) }

        var buffer: [UInt8] = []
        buffer.reserveCapacity(position - start + 16)
        buffer.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start..<position]))
        while position < bytes.count {
            let byte = bytes[position]
            switch byte {
            case UInt8(ascii: "\""):
                index = position + 1
                return try buffer.withUnsafeBufferPointer { (chars) throws(JSONError) in try makeString(chars, at: start) }
            case UInt8(ascii: "\\"):
                position = try appendEscape(at: position, to: &buffer, quoteOffset: quoteOffset)
            case 0..<0x20:
                throw controlCharacter(at: position)
            default:
                buffer.append(byte)
                position += 1
            }
        }
        throw unterminated(quoteOffset)
    }

    /// Decodes the escape whose backslash is at `position`; returns the position after it.
    private func appendEscape(at position: Int, to buffer: inout [UInt8], quoteOffset: Int) throws(JSONError) -> Int {
        guard position + 1 < bytes.count else { throw unterminated(quoteOffset) }
        let simple: UInt8?
        switch bytes[position + 1] {
        case UInt8(ascii: "\""): simple = UInt8(ascii: "\"")
        case UInt8(ascii: "\\"): simple = UInt8(ascii: "\\")
        case UInt8(ascii: "/"): simple = UInt8(ascii: "/")
        case UInt8(ascii: "b"): simple = 0x08
        case UInt8(ascii: "f"): simple = 0x0C
        case UInt8(ascii: "n"): simple = 0x0A
        case UInt8(ascii: "r"): simple = 0x0D
        case UInt8(ascii: "t"): simple = 0x09
        case UInt8(ascii: "u"): simple = nil
        case let other:
            let shown = (0x21..<0x7F).contains(other) ? " '\\\(Character(Unicode.Scalar(other)))'" : ""
            throw JSONError(message: "invalid escape\(shown) at offset \(position)", offset: position)
        }
        if let simple {
            buffer.append(simple)
            return position + 2
        }
        let unit = try hexQuad(at: position + 2, escapeOffset: position)
        var scalarValue = UInt32(unit)
        var next = position + 6
        if (0xD800...0xDBFF).contains(unit) {
            // A high surrogate must be followed by an escaped low surrogate; together they are one scalar.
            guard next + 1 < bytes.count, bytes[next] == UInt8(ascii: "\\"), bytes[next + 1] == UInt8(ascii: "u"),
                  case let low = try hexQuad(at: next + 2, escapeOffset: next), (0xDC00...0xDFFF).contains(low)
            else { throw unpairedSurrogate(unit, at: position) }
            scalarValue = 0x10000 + ((UInt32(unit) - 0xD800) << 10) + (UInt32(low) - 0xDC00)
            next += 6
        } else if (0xDC00...0xDFFF).contains(unit) {
            throw unpairedSurrogate(unit, at: position)
        }
        // Every value reaching here is a valid scalar: surrogates were paired or rejected above.
        let scalar = Unicode.Scalar(scalarValue)!
        buffer.append(contentsOf: UTF8.encode(scalar)!)
        return next
    }

    private func hexQuad(at position: Int, escapeOffset: Int) throws(JSONError) -> UInt16 {
        guard position + 4 <= bytes.count else {
            throw JSONError(message: "invalid unicode escape at offset \(escapeOffset)", offset: escapeOffset)
        }
        var value: UInt16 = 0
        for offset in position..<(position + 4) {
            let byte = bytes[offset]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw JSONError(message: "invalid unicode escape at offset \(escapeOffset)", offset: escapeOffset)
            }
            value = value << 4 | UInt16(digit)
        }
        return value
    }

    private func makeString(_ utf8: UnsafeBufferPointer<UInt8>, at start: Int) throws(JSONError) -> String {
        // Input that came in as a Swift String is valid UTF-8 already; only raw bytes need checking.
        guard validatesUTF8 else { return String(decoding: utf8, as: UTF8.self) }
        guard let string = String(validating: utf8, as: UTF8.self) else {
            throw JSONError(message: "invalid UTF-8 in string at offset \(start)", offset: start)
        }
        return string
    }

    private func controlCharacter(at position: Int) -> JSONError {
        JSONError(
            message: "unescaped control character \(describeCharacter(at: position)) in string at offset \(position)",
            offset: position)
    }

    private func unterminated(_ quoteOffset: Int) -> JSONError {
        JSONError(message: "unterminated string starting at offset \(quoteOffset)", offset: quoteOffset)
    }

    private func unpairedSurrogate(_ unit: UInt16, at position: Int) -> JSONError {
        JSONError(message: "unpaired surrogate \\u\(hex(UInt32(unit), width: 4)) at offset \(position)", offset: position)
    }
}
