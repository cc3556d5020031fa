/// PostgreSQL's array text format: `{1,2,NULL}`, `{"a b","c\"d",NULL}`, `{{1,2},{3,4}}`, `[0:1]={7,8}`.
///
/// Writing always quotes strings (the rules for when quotes may be left out are long; quoting is always right).
/// Parsing follows `array_in`: elements are separated by commas (the delimiter of every type decoded here),
/// may be double-quoted, backslash escapes anything, and an unquoted `NULL` (any case) is SQL NULL.
enum ArrayLiteral {
    // MARK: Writing

    static func append(_ elements: [PGValue], to out: inout [UInt8]) {
        out.append(UInt8(ascii: "{"))
        for (i, e) in elements.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            appendElement(e, to: &out)
        }
        out.append(UInt8(ascii: "}"))
    }

    static func append(_ floats: [Float], to out: inout [UInt8]) {
        out.append(UInt8(ascii: "{"))
        for (i, f) in floats.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            NumberText.appendFloat(f, to: &out)
        }
        out.append(UInt8(ascii: "}"))
    }

    private static func appendElement(_ value: PGValue, to out: inout [UInt8]) {
        switch value {
        case .null: out.append(contentsOf: "NULL".utf8)
        case .bool(let b): out.append(b ? UInt8(ascii: "t") : UInt8(ascii: "f"))
        case .int(let v): NumberText.appendDecimal(v, to: &out)
        case .double(let d): NumberText.appendDouble(d, to: &out)
        case .text(let s), .json(let s): appendQuoted(s.utf8, to: &out)
        case .timestamp(let d):
            var text: [UInt8] = []
            // Out of range: a literal the server refuses with a readable error, where a trap would stop the process.
            if !TimestampText.append(d, to: &text) { text = Array("time out of range".utf8) }
            appendQuoted(text, to: &out)
        case .bytea(let b):
            var text: [UInt8] = []
            ParameterEncoder.appendHex(b, to: &text)
            appendQuoted(text, to: &out)
        case .array(let a): append(a, to: &out)
        case .float4Array(let f): append(f, to: &out)
        }
    }

    private static func appendQuoted(_ bytes: some Sequence<UInt8>, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for b in bytes {
            if b == UInt8(ascii: "\"") || b == UInt8(ascii: "\\") { out.append(UInt8(ascii: "\\")) }
            out.append(b)
        }
        out.append(UInt8(ascii: "\""))
    }

    // MARK: Parsing

    /// Parses an array literal, decoding each element with `element` (nil for NULL). Returns nil if the text is
    /// not a well-formed array literal.
    static func parse(
        _ p: UnsafeBufferPointer<UInt8>, element: (UnsafeBufferPointer<UInt8>?) -> PGValue
    ) -> [PGValue]? {
        var parser = Parser(p: p)
        return parser.parseTop(element)
    }

    private struct Parser {
        let p: UnsafeBufferPointer<UInt8>
        var i = 0
        /// Unescaped bytes of the current element; reused across elements to avoid an allocation each.
        var scratch: [UInt8] = []

        init(p: UnsafeBufferPointer<UInt8>) { self.p = p }

        mutating func parseTop(_ element: (UnsafeBufferPointer<UInt8>?) -> PGValue) -> [PGValue]? {
            skipSpace()
            // Arrays with non-default lower bounds carry a dimension decoration first: "[0:2]={...}".
            if i < p.count, p[i] == UInt8(ascii: "[") {
                while i < p.count, p[i] != UInt8(ascii: "=") { i += 1 }
                i += 1
                skipSpace()
            }
            guard let result = parseArray(element) else { return nil }
            skipSpace()
            return i == p.count ? result : nil
        }

        mutating func parseArray(_ element: (UnsafeBufferPointer<UInt8>?) -> PGValue) -> [PGValue]? {
            guard i < p.count, p[i] == UInt8(ascii: "{") else { return nil }
            i += 1
            var out: [PGValue] = []
            skipSpace()
            if i < p.count, p[i] == UInt8(ascii: "}") { i += 1; return out }
            while true {
                skipSpace()
                guard i < p.count else { return nil }
                switch p[i] {
                case UInt8(ascii: "{"):
                    guard let nested = parseArray(element) else { return nil }
                    out.append(.array(nested))
                case UInt8(ascii: "\""):
                    guard let v = parseQuoted(element) else { return nil }
                    out.append(v)
                default:
                    guard let v = parseUnquoted(element) else { return nil }
                    out.append(v)
                }
                skipSpace()
                guard i < p.count else { return nil }
                if p[i] == UInt8(ascii: ",") { i += 1; continue }
                if p[i] == UInt8(ascii: "}") { i += 1; return out }
                return nil
            }
        }

        mutating func parseQuoted(_ element: (UnsafeBufferPointer<UInt8>?) -> PGValue) -> PGValue? {
            i += 1
            scratch.removeAll(keepingCapacity: true)
            while i < p.count, p[i] != UInt8(ascii: "\"") {
                if p[i] == UInt8(ascii: "\\") {
                    i += 1
                    guard i < p.count else { return nil }
                }
                scratch.append(p[i])
                i += 1
            }
            guard i < p.count else { return nil }
            i += 1
            return scratch.withUnsafeBufferPointer { element($0) }
        }

        mutating func parseUnquoted(_ element: (UnsafeBufferPointer<UInt8>?) -> PGValue) -> PGValue? {
            let start = i
            var escaped = false
            var lastSignificant = i  // one past the last byte that is not trailing white space
            while i < p.count, p[i] != UInt8(ascii: ","), p[i] != UInt8(ascii: "}") {
                if p[i] == UInt8(ascii: "\\") {
                    escaped = true
                    i += 1
                    guard i < p.count else { return nil }
                    lastSignificant = i + 1
                } else if !isSpace(p[i]) {
                    lastSignificant = i + 1
                }
                i += 1
            }
            guard lastSignificant > start else { return nil }
            if !escaped {
                let slice = UnsafeBufferPointer(rebasing: p[start..<lastSignificant])
                if isNULL(slice) { return element(nil) }
                return element(slice)
            }
            scratch.removeAll(keepingCapacity: true)
            var j = start
            while j < lastSignificant {
                if p[j] == UInt8(ascii: "\\") { j += 1 }
                scratch.append(p[j])
                j += 1
            }
            return scratch.withUnsafeBufferPointer { element($0) }
        }

        mutating func skipSpace() {
            while i < p.count, isSpace(p[i]) { i += 1 }
        }

        func isSpace(_ b: UInt8) -> Bool {
            b == 32 || (b >= 9 && b <= 13)
        }

        func isNULL(_ s: UnsafeBufferPointer<UInt8>) -> Bool {
            s.count == 4 && (s[0] | 0x20) == UInt8(ascii: "n") && (s[1] | 0x20) == UInt8(ascii: "u")
                && (s[2] | 0x20) == UInt8(ascii: "l") && (s[3] | 0x20) == UInt8(ascii: "l")
        }
    }
}
