extension JSONValue {
    /// Parses a JSON text (RFC 8259). Numbers without a fraction or exponent that fit `Int64` become
    /// `.int`; every other number becomes `.double`. Duplicate object keys keep the last value.
    /// `exactNumbers`: as for `parse(bytes:exactNumbers:)`.
    public static func parse(_ text: String, exactNumbers: Bool = false) throws(JSONError) -> JSONValue {
        var text = text
        // withUTF8 makes the storage contiguous (a no-op for native strings), so the parser reads
        // bytes straight out of the string. The closure cannot throw a typed error, hence Result.
        let result = text.withUTF8 { bytes in
            var parser = JSONParser(bytes: bytes, validatesUTF8: false)
            parser.exactNumbers = exactNumbers
            return Result { () throws(JSONError) in try parser.parseDocument() }
        }
        return try result.get()
    }

    /// Parses JSON from UTF-8 bytes, such as an HTTP body or a database column.
    /// Invalid UTF-8 inside a string is an error rather than being silently replaced.
    ///
    /// `exactNumbers` refuses numbers that the value cannot hold as written: an integer beyond `Int64`
    /// (it would become a rounded `.double`) and a number beyond `Double`'s range (it would become infinity,
    /// stored as `null`). The doors that take data from outside (the event API, `send`) set it, so a client
    /// learns at once instead of finding another number in its run; values read back from the database do
    /// not, since refusing them there would make a stored row unreadable.
    public static func parse(bytes: some Collection<UInt8>, exactNumbers: Bool = false) throws(JSONError) -> JSONValue {
        let parseBuffer = { (buffer: UnsafeBufferPointer<UInt8>) -> Result<JSONValue, JSONError> in
            var parser = JSONParser(bytes: buffer, validatesUTF8: true)
            parser.exactNumbers = exactNumbers
            return Result { () throws(JSONError) in try parser.parseDocument() }
        }
        if let result = bytes.withContiguousStorageIfAvailable(parseBuffer) {
            return try result.get()
        }
        return try Array(bytes).withUnsafeBufferPointer(parseBuffer).get()
    }
}

/// A recursive-descent parser over UTF-8 bytes. Working on bytes rather than Characters matters:
/// step outputs are parsed on the hot path, thousands per second.
struct JSONParser {
    /// Deep enough for any real document, shallow enough that recursion cannot overflow the stack.
    static let maxDepth = 512

    let bytes: UnsafeBufferPointer<UInt8>
    let validatesUTF8: Bool
    /// Refuse integers beyond Int64 and numbers beyond Double's range (see `JSONValue.parse(bytes:exactNumbers:)`).
    var exactNumbers = false
    var index = 0
    private var depth = 0

    init(bytes: UnsafeBufferPointer<UInt8>, validatesUTF8: Bool) {
        self.bytes = bytes
        self.validatesUTF8 = validatesUTF8
    }

    mutating func parseDocument() throws(JSONError) -> JSONValue {
        let value = try parseValue()
        skipWhitespace()
        if index < bytes.count { throw unexpected() }
        return value
    }

    private mutating func parseValue() throws(JSONError) -> JSONValue {
        skipWhitespace()
        guard index < bytes.count else { throw unexpected() }
        switch bytes[index] {
        case UInt8(ascii: "{"): return try parseObject()
        case UInt8(ascii: "["): return try parseArray()
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): try expectLiteral("true"); return .bool(true)
        case UInt8(ascii: "f"): try expectLiteral("false"); return .bool(false)
        case UInt8(ascii: "n"): try expectLiteral("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
        default: throw unexpected()
        }
    }

    private mutating func parseObject() throws(JSONError) -> JSONValue {
        try enterContainer()
        index += 1  // "{"
        var members: [String: JSONValue] = [:]
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
            index += 1
            depth -= 1
            return .object(members)
        }
        while true {
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw unexpected() }
            let key = try parseString()
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw unexpected() }
            index += 1
            members[key] = try parseValue()
            skipWhitespace()
            guard index < bytes.count else { throw unexpected() }
            if bytes[index] == UInt8(ascii: ",") {
                index += 1
            } else if bytes[index] == UInt8(ascii: "}") {
                index += 1
                depth -= 1
                return .object(members)
            } else {
                throw unexpected()
            }
        }
    }

    private mutating func parseArray() throws(JSONError) -> JSONValue {
        try enterContainer()
        index += 1  // "["
        var elements: [JSONValue] = []
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
            index += 1
            depth -= 1
            return .array(elements)
        }
        while true {
            elements.append(try parseValue())
            skipWhitespace()
            guard index < bytes.count else { throw unexpected() }
            if bytes[index] == UInt8(ascii: ",") {
                index += 1
            } else if bytes[index] == UInt8(ascii: "]") {
                index += 1
                depth -= 1
                return .array(elements)
            } else {
                throw unexpected()
            }
        }
    }

    private mutating func enterContainer() throws(JSONError) {
        depth += 1
        if depth > Self.maxDepth {
            throw JSONError(message: "nesting deeper than \(Self.maxDepth) levels at offset \(index)", offset: index)
        }
    }

    private mutating func expectLiteral(_ literal: StaticString) throws(JSONError) {
        let utf8 = UnsafeBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount)
        for byte in utf8 {
            guard index < bytes.count, bytes[index] == byte else { throw unexpected() }
            index += 1
        }
    }

    private mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case UInt8(ascii: " "), UInt8(ascii: "\n"), UInt8(ascii: "\r"), UInt8(ascii: "\t"): index += 1
            default: return
            }
        }
    }

    // MARK: Errors

    /// An "unexpected character" error at the current index, or "unexpected end of input" past the end.
    func unexpected() -> JSONError {
        guard index < bytes.count else {
            return JSONError(message: "unexpected end of input at offset \(index)", offset: index)
        }
        return JSONError(message: "unexpected character \(describeCharacter(at: index)) at offset \(index)", offset: index)
    }

    /// `'x'` for a printable character, `U+000A` for a control character, `byte 0xFF` for invalid UTF-8.
    func describeCharacter(at position: Int) -> String {
        let byte = bytes[position]
        if byte >= 0x20 && byte < 0x7F { return "'\(Character(Unicode.Scalar(byte)))'" }
        if byte < 0x80 { return "U+" + hex(UInt32(byte), width: 4) }
        var iterator = bytes[position...].makeIterator()
        var decoder = UTF8()
        if case .scalarValue(let scalar) = decoder.decode(&iterator) {
            return "'\(Character(scalar))' (U+\(hex(scalar.value, width: 4)))"
        }
        return "byte 0x" + hex(UInt32(byte), width: 2)
    }

    func hex(_ value: UInt32, width: Int) -> String {
        let digits = String(value, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }
}
