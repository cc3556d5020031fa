/// A parsed flow-control expression: the documented subset of Inngest's (CEL-like) expression language
/// that trigger filters, throttle/singleton keys and `priority.run` accept.
///
/// ```
/// expr     := or ('?' expr ':' expr)?
/// or       := and ('||' and)*
/// and      := unary ('&&' unary)*
/// unary    := '!' unary | compare
/// compare  := primary (('==' | '!=' | '<' | '<=' | '>' | '>=') primary)?
/// primary  := number | string | true | false | null | path | '(' expr ')'
/// path     := ('event' | 'async') ('.' identifier)*
/// ```
///
/// Named `FlowExpression` rather than `Expression`, which Foundation declares too.
public indirect enum FlowExpression: Sendable, Equatable {
    /// Which document a path reads: the triggering event, or (in waits) the awaited one.
    public enum Root: String, Sendable, Equatable {
        case event
        case async
    }

    public enum Comparison: String, Sendable, Equatable, CaseIterable {
        case equal = "=="
        case notEqual = "!="
        case less = "<"
        case lessOrEqual = "<="
        case greater = ">"
        case greaterOrEqual = ">="
    }

    case literal(JSONValue)
    /// `event.data.a.b` is `.path(.event, ["data", "a", "b"])`.
    case path(Root, [String])
    case not(FlowExpression)
    case and(FlowExpression, FlowExpression)
    case or(FlowExpression, FlowExpression)
    case compare(Comparison, FlowExpression, FlowExpression)
    /// `condition ? then : else`.
    case conditional(FlowExpression, FlowExpression, FlowExpression)

    /// Parses `text`, or throws an error that names the column (1-based) where it went wrong.
    public init(parsing text: String) throws(ExpressionError) {
        var parser = ExpressionParser(text)
        self = try parser.parseAll()
    }

    /// The keys under `event.data` when the expression is only such a path (`event.data.tenant_id`):
    /// the form SQL reads with `data #>> path` directly.
    public var eventDataPath: [String]? {
        guard case .path(.event, let keys) = self, keys.count >= 2, keys[0] == "data" else { return nil }
        return Array(keys.dropFirst())
    }

    /// The roots the expression reads.
    public var roots: Set<Root> {
        switch self {
        case .literal: []
        case .path(let root, _): [root]
        case .not(let e): e.roots
        case .and(let a, let b), .or(let a, let b), .compare(_, let a, let b): a.roots.union(b.roots)
        case .conditional(let c, let a, let b): c.roots.union(a.roots).union(b.roots)
        }
    }
}

extension FlowExpression {
    /// True for expressions whose value is a truth (comparisons, `!`, `&&`, `||`, and conditionals that
    /// yield one), as opposed to values (literals, paths).
    var isCondition: Bool {
        switch self {
        case .literal, .path: false
        case .not, .and, .or, .compare: true
        case .conditional(_, let a, let b): a.isCondition || b.isCondition
        }
    }
}
