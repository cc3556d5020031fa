/// A recursive-descent parser over `ExpressionLexer`'s tokens (grammar in `FlowExpression`).
/// Nesting is bounded so a hostile script cannot overflow the stack.
struct ExpressionParser {
    static let maxDepth = 64
    static let maxLength = 4096

    private let text: String
    private var tokens: [ExpressionToken] = []
    private var index = 0
    private var depth = 0

    init(_ text: String) {
        self.text = text
    }

    mutating func parseAll() throws(ExpressionError) -> FlowExpression {
        if text.count > Self.maxLength {
            throw ExpressionError(column: Self.maxLength + 1, "the expression is longer than \(Self.maxLength) characters")
        }
        tokens = try ExpressionLexer.tokens(text)
        if case .end = tokens[0].kind { throw ExpressionError(column: 1, "the expression is empty") }
        let e = try expression()
        guard case .end = current.kind else { throw unexpected("an operator or the end") }
        return e
    }

    private var current: ExpressionToken { tokens[index] }

    private func unexpected(_ wanted: String) -> ExpressionError {
        let found: String
        switch current.kind {
        case .end: found = "the end of the expression"
        case .number(let n): found = "the number \(n.serialized())"
        case .string(let s): found = "the string \"\(s)\""
        case .identifier(let s): found = "'\(s)'"
        case .symbol(let s): found = "'\(s)'"
        }
        return ExpressionError(column: current.column, "expected \(wanted), found \(found)")
    }

    private mutating func accept(_ symbol: String) -> Bool {
        if current.kind == .symbol(symbol) {
            index += 1
            return true
        }
        return false
    }

    private mutating func expression() throws(ExpressionError) -> FlowExpression {
        depth += 1
        defer { depth -= 1 }
        if depth > Self.maxDepth { throw ExpressionError(column: current.column, "the expression nests deeper than \(Self.maxDepth)") }
        let condition = try or()
        guard accept("?") else { return condition }
        let then = try expression()
        guard accept(":") else { throw unexpected("':' of the conditional") }
        let otherwise = try expression()
        return .conditional(condition, then, otherwise)
    }

    private mutating func or() throws(ExpressionError) -> FlowExpression {
        var left = try and()
        while accept("||") { left = .or(left, try and()) }
        return left
    }

    private mutating func and() throws(ExpressionError) -> FlowExpression {
        var left = try unary()
        while accept("&&") { left = .and(left, try unary()) }
        return left
    }

    private mutating func unary() throws(ExpressionError) -> FlowExpression {
        if accept("!") {
            depth += 1
            defer { depth -= 1 }
            if depth > Self.maxDepth { throw ExpressionError(column: current.column, "the expression nests deeper than \(Self.maxDepth)") }
            return .not(try unary())
        }
        return try comparison()
    }

    /// Comparison operands are values (literals, paths, conditionals of values), never conditions: SQL/JSON path,
    /// which these compile to, cannot compare the result of a comparison, and `(a > 1) == true` says nothing
    /// that `a > 1` does not.
    private mutating func comparison() throws(ExpressionError) -> FlowExpression {
        let leftColumn = current.column
        let left = try primary()
        for op in FlowExpression.Comparison.allCases where current.kind == .symbol(op.rawValue) {
            if left.isCondition {
                throw ExpressionError(column: leftColumn, "the left side of '\(op.rawValue)' is a condition; compare a path or a value")
            }
            index += 1
            let rightColumn = current.column
            let right = try primary()
            if right.isCondition {
                throw ExpressionError(column: rightColumn, "the right side of '\(op.rawValue)' is a condition; compare a path or a value")
            }
            for next in FlowExpression.Comparison.allCases where current.kind == .symbol(next.rawValue) {
                throw ExpressionError(column: current.column, "comparisons do not chain; use '&&' between them")
            }
            return .compare(op, left, right)
        }
        return left
    }

    private mutating func primary() throws(ExpressionError) -> FlowExpression {
        let token = current
        switch token.kind {
        case .number(let n):
            index += 1
            return .literal(n)
        case .string(let s):
            index += 1
            return .literal(.string(s))
        case .symbol("("):
            index += 1
            let inner = try expression()
            guard accept(")") else { throw unexpected("')'") }
            return inner
        case .symbol("-"):
            index += 1
            switch current.kind {
            case .number(.int(let n)):
                index += 1
                return .literal(.int(-n))
            case .number(.double(let d)):
                index += 1
                return .literal(.double(-d))
            default:
                throw unexpected("a number after '-'")
            }
        case .identifier(let name):
            index += 1
            switch name {
            case "true": return .literal(.bool(true))
            case "false": return .literal(.bool(false))
            case "null": return .literal(.null)
            default: break
            }
            guard let root = FlowExpression.Root(rawValue: name) else {
                throw ExpressionError(column: token.column, "unknown name '\(name)' (paths start with 'event' or 'async')")
            }
            var keys: [String] = []
            while accept(".") {
                guard case .identifier(let key) = current.kind else { throw unexpected("a field name after '.'") }
                keys.append(key)
                index += 1
            }
            return .path(root, keys)
        default:
            throw unexpected("a value")
        }
    }
}
