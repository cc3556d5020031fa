/// Compilation to PostgreSQL's SQL/JSON path (lax mode), so ingest matches filters and computes priorities in
/// SQL, set-based, with the path text bound as a parameter (stored in `blacklight.triggers.expression` and
/// `functions.config`), never spliced into a statement. Every expression of the subset compiles: the one form
/// SQL/JSON path lacks, the conditional, is rewritten away (below). Only `event` paths compile; `async` is
/// for waits, which the validator refuses elsewhere.
///
/// The path runs against `{"name": ..., "data": {...}}`: `event.data.a` becomes `$."data"."a"`.
extension FlowExpression {
    /// Longest compiled text: conditionals nested inside conditions repeat their condition, so a hostile
    /// expression could grow exponentially; this stops it early.
    public static let maxCompiledLength = 16_384

    /// A predicate for `jsonb_path_match(doc, path)`, true exactly when `matches` is.
    public func jsonPathPredicate() throws(ExpressionError) -> String {
        var budget = JSONPathBudget()
        return try predicate(&budget)
    }

    /// A predicate over a second event, for waits' and `cancel_on`'s `if`: `async.data.x` reads the awaited (or
    /// cancelling) event, the document matched, and `event.data.x` reads the run's triggering event, passed as the
    /// path variable `event` (`jsonb_path_match(doc, path, jsonb_build_object('event', trigger))`), so its values
    /// are bound, never spliced into the path.
    public func jsonPathPredicateOverAsync() throws(ExpressionError) -> String {
        var budget = JSONPathBudget(asyncRoot: true)
        return try predicate(&budget)
    }

    /// A first-match list of `(when, value)` SQL/JSON paths for a value-valued expression: the value of the
    /// first branch whose `when` holds (nil: always). Conditionals become branches, their conditions guards.
    /// A branch whose value is a condition yields `null` (this form is for numbers, as `priority.run`).
    public func jsonPathBranches() throws(ExpressionError) -> [(when: String?, value: String)] {
        var budget = JSONPathBudget()
        var out: [(when: String?, value: String)] = []
        try branches(guards: [], into: &out, &budget)
        return out
    }

    private func branches(guards: [String], into out: inout [(when: String?, value: String)],
                          _ budget: inout JSONPathBudget) throws(ExpressionError) {
        if case .conditional(let c, let a, let b) = self {
            let isTrue = try c.definitelyTrue(&budget)
            try a.branches(guards: guards + [isTrue], into: &out, &budget)
            try b.branches(guards: guards + ["!" + isTrue], into: &out, &budget)
            return
        }
        let value = isCondition ? "null" : try valuePath(false)
        out.append((guards.isEmpty ? nil : guards.joined(separator: " && "), value))
        try budget.spend(value.count + guards.reduce(0) { $0 + $1.count })
    }

    /// Two-valued: true when the condition is true, false when it is false or unknown (`is unknown` is SQL/JSON
    /// path's own test), so its negation is exact and a conditional picks its else-branch on unknown.
    private func definitelyTrue(_ budget: inout JSONPathBudget) throws(ExpressionError) -> String {
        let p = try predicate(&budget)
        let text = "(\(p) && !((\(p)) is unknown))"
        try budget.spend(text.count)
        return text
    }

    private func predicate(_ budget: inout JSONPathBudget) throws(ExpressionError) -> String {
        let text: String
        switch self {
        case .not(let e): text = "!(\(try e.predicate(&budget)))"
        case .and(let a, let b): text = "(\(try a.predicate(&budget)) && \(try b.predicate(&budget)))"
        case .or(let a, let b): text = "(\(try a.predicate(&budget)) || \(try b.predicate(&budget)))"
        case .conditional(let c, let a, let b):
            let isTrue = try c.definitelyTrue(&budget)
            text = "((\(isTrue) && \(try a.predicate(&budget))) || (!\(isTrue) && \(try b.predicate(&budget))))"
        case .compare(let op, .conditional(let c, let a, let b), let right):
            text = try FlowExpression.conditional(c, .compare(op, a, right), .compare(op, b, right)).predicate(&budget)
        case .compare(let op, let left, .conditional(let c, let a, let b)):
            text = try FlowExpression.conditional(c, .compare(op, left, a), .compare(op, left, b)).predicate(&budget)
        case .compare(let op, let left, let right):
            text = "(\(try left.valuePath(budget.asyncRoot)) \(op.rawValue) \(try right.valuePath(budget.asyncRoot)))"
        case .literal, .path:
            text = "(\(try valuePath(budget.asyncRoot)) == true)"
        }
        try budget.spend(text.count)
        return text
    }

    /// A literal or path as SQL/JSON path text.
    private func valuePath(_ asyncRoot: Bool) throws(ExpressionError) -> String {
        switch self {
        case .literal(let v):
            switch v {
            case .null: return "null"
            case .bool(let b): return b ? "true" : "false"
            case .int(let n): return String(n)
            case .double(let d): return String(d)
            case .string: return v.serialized()
            case .array, .object: throw ExpressionError(column: 1, "arrays and objects are not literals of this language")
            }
        case .path(.event, let keys):
            return (asyncRoot ? "$event" : "$") + keys.map { "." + JSONValue.string($0).serialized() }.joined()
        case .path(.async, let keys) where asyncRoot:
            return "$" + keys.map { "." + JSONValue.string($0).serialized() }.joined()
        case .path(.async, _):
            throw ExpressionError(column: 1, "'async' is only defined in waits and cancel_on (the event awaited or cancelling)")
        default:
            throw ExpressionError(column: 1, "a condition cannot be used as a value here")
        }
    }
}

private struct JSONPathBudget {
    var used = 0
    /// `async` paths read the document matched, `event` paths the variable `$event`.
    var asyncRoot = false

    mutating func spend(_ n: Int) throws(ExpressionError) {
        used += n
        if used > FlowExpression.maxCompiledLength {
            throw ExpressionError(column: 1, "the expression is too complex to compile (conditionals nested in conditions)")
        }
    }
}
