/// A lexical token of a flow expression, with the 1-based column where it starts.
struct ExpressionToken: Equatable {
    enum Kind: Equatable {
        case number(JSONValue)
        case string(String)
        case identifier(String)
        case symbol(String)
        case end
    }

    var kind: Kind
    var column: Int
}

/// Splits an expression into tokens. Strings take '...' or "..." with the escapes \\ \' \" \n \t.
enum ExpressionLexer {
    static let symbols = ["==", "!=", "<=", ">=", "&&", "||", "<", ">", "!", "(", ")", "?", ":", ".", "-"]

    static func tokens(_ text: String) throws(ExpressionError) -> [ExpressionToken] {
        let chars = Array(text)
        var out: [ExpressionToken] = []
        var i = 0
        while i < chars.count {
            let c = chars[i]
            let column = i + 1
            if c == " " || c == "\t" || c == "\n" || c == "\r" {
                i += 1
            } else if c.isASCII && c.isNumber {
                var j = i
                while j < chars.count, chars[j].isASCII, chars[j].isNumber { j += 1 }
                var isFloat = false
                if j + 1 < chars.count, chars[j] == ".", chars[j + 1].isASCII, chars[j + 1].isNumber {
                    isFloat = true
                    j += 1
                    while j < chars.count, chars[j].isASCII, chars[j].isNumber { j += 1 }
                }
                if j < chars.count, chars[j] == "e" || chars[j] == "E" {
                    var k = j + 1
                    if k < chars.count, chars[k] == "+" || chars[k] == "-" { k += 1 }
                    if k < chars.count, chars[k].isASCII, chars[k].isNumber {
                        isFloat = true
                        j = k
                        while j < chars.count, chars[j].isASCII, chars[j].isNumber { j += 1 }
                    }
                }
                let lexeme = String(chars[i..<j])
                if !isFloat, let n = Int64(lexeme) {
                    out.append(.init(kind: .number(.int(n)), column: column))
                } else if let d = Double(lexeme), d.isFinite {
                    out.append(.init(kind: .number(.double(d)), column: column))
                } else {
                    throw ExpressionError(column: column, "number '\(lexeme)' is out of range")
                }
                i = j
            } else if c == "'" || c == "\"" {
                var j = i + 1
                var s = ""
                while true {
                    guard j < chars.count else { throw ExpressionError(column: column, "unterminated string") }
                    let d = chars[j]
                    if d == c { break }
                    if d == "\\" {
                        guard j + 1 < chars.count else { throw ExpressionError(column: column, "unterminated string") }
                        switch chars[j + 1] {
                        case "\\": s.append("\\")
                        case "'": s.append("'")
                        case "\"": s.append("\"")
                        case "n": s.append("\n")
                        case "t": s.append("\t")
                        default: throw ExpressionError(column: j + 1, "unknown escape '\\\(chars[j + 1])' (known: \\\\ \\' \\\" \\n \\t)")
                        }
                        j += 2
                    } else {
                        s.append(d)
                        j += 1
                    }
                }
                out.append(.init(kind: .string(s), column: column))
                i = j + 1
            } else if c == "_" || (c.isASCII && c.isLetter) {
                var j = i
                while j < chars.count, chars[j] == "_" || (chars[j].isASCII && (chars[j].isLetter || chars[j].isNumber)) { j += 1 }
                out.append(.init(kind: .identifier(String(chars[i..<j])), column: column))
                i = j
            } else if let symbol = symbols.first(where: { matches($0, chars, at: i) }) {
                out.append(.init(kind: .symbol(symbol), column: column))
                i += symbol.count
            } else {
                let hint = c == "=" ? " (use '==' to compare)" : c == "&" || c == "|" ? " (use '&&' or '||')" : ""
                throw ExpressionError(column: column, "unexpected character '\(c)'\(hint)")
            }
        }
        out.append(.init(kind: .end, column: chars.count + 1))
        return out
    }

    private static func matches(_ symbol: String, _ chars: [Character], at i: Int) -> Bool {
        let s = Array(symbol)
        guard i + s.count <= chars.count else { return false }
        return Array(chars[i..<(i + s.count)]) == s
    }
}
