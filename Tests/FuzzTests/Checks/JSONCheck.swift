import BlacklightCore

/// JSON: any bytes either parse or are refused with an offset inside the input; what parses
/// serializes to text that parses back to the same value, and that text is a fixed point.
enum JSONCheck {
    static func check(_ input: UnsafeBufferPointer<UInt8>) throws(FuzzFailure) {
        let text = String(validating: input, as: UTF8.self)
        let value: JSONValue
        do {
            value = try JSONValue.parse(bytes: input)
        } catch {
            if let offset = error.offset, offset < 0 || offset > input.count {
                throw FuzzFailure("error offset \(offset) outside the \(input.count)-byte input: \(error)")
            }
            // The String entry point skips UTF-8 validation (a String is valid already); otherwise it must agree.
            if let text, let accepted = try? JSONValue.parse(text) {
                throw FuzzFailure("bytes refused (\(error)) but the same text parsed as \(accepted)")
            }
            return
        }
        guard let text else { throw FuzzFailure("invalid UTF-8 accepted as \(value)") }
        guard let fromString = try? JSONValue.parse(text), fromString == value else {
            throw FuzzFailure("parse(String) disagrees with parse(bytes:) for \(value)")
        }
        try checkRoundTrip(value)
        try checkTopLevelNumber(value, text: text)
    }

    /// serialize → parse gives the value back (numbers JSON cannot hold become null), and serializing
    /// again gives the same text.
    static func checkRoundTrip(_ value: JSONValue) throws(FuzzFailure) {
        let serialized = value.serialized()
        let reparsed: JSONValue
        do {
            reparsed = try JSONValue.parse(serialized)
        } catch {
            throw FuzzFailure("serialization \(serialized) does not parse: \(error)")
        }
        let expected = finite(value)
        guard reparsed == expected else {
            throw FuzzFailure("round trip changed the value: \(expected) became \(reparsed) via \(serialized)")
        }
        guard reparsed.serialized() == serialized else {
            throw FuzzFailure("serialization is not a fixed point: \(serialized) then \(reparsed.serialized())")
        }
    }

    /// A number alone: the parser's fast path (Clinger) must round exactly as Double's own parser does.
    private static func checkTopLevelNumber(_ value: JSONValue, text: String) throws(FuzzFailure) {
        guard case .double(let number) = value else { return }
        let trimmed = text.trimmingJSONWhitespace()
        guard let reference = Double(trimmed) else { throw FuzzFailure("Double(\"\(trimmed)\") refused a parsed number") }
        guard reference.bitPattern == number.bitPattern else {
            throw FuzzFailure("\(trimmed) parsed as \(number), Double's parser says \(reference)")
        }
    }

    /// The value as serialization renders it: ±infinity (from a literal like 1e999) becomes null.
    static func finite(_ value: JSONValue) -> JSONValue {
        switch value {
        case .double(let number) where !number.isFinite: return .null
        case .array(let elements): return .array(elements.map(finite))
        case .object(let members): return .object(members.mapValues(finite))
        default: return value
        }
    }
}

extension String {
    /// Without JSON's four whitespace characters at either end.
    func trimmingJSONWhitespace() -> String {
        let space: Set<UInt8> = [0x20, 0x09, 0x0A, 0x0D]
        let bytes = Array(utf8)
        guard let first = bytes.firstIndex(where: { !space.contains($0) }),
              let last = bytes.lastIndex(where: { !space.contains($0) })
        else { return "" }
        return String(decoding: bytes[first...last], as: UTF8.self)
    }
}
