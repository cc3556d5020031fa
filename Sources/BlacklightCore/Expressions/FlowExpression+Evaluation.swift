/// Evaluation in Swift, with the semantics of PostgreSQL's SQL/JSON path in lax mode (what the expressions
/// compile to, see `FlowExpression+JSONPath.swift`), so a filter means the same thing wherever it is checked:
///
/// - A path that does not resolve yields nothing; member access on an array reads that member of each
///   element; a comparison takes each side's items (arrays unwrapped one level) and is true when any pair
///   is true.
/// - Values of different types are not comparable (unknown), except `null`, which equals only `null`
///   (and `!=` any other value). Objects and arrays are not comparable. Strings compare by code point,
///   numbers by value (`1 == 1.0`), `false < true`.
/// - `&&`, `||` and `!` are three-valued (true, false, unknown); a filter matches only when true.
/// - A value where a condition is expected (`event.data.vip && ...`) is `value == true`.
/// - `c ? a : b` is `a` when `c` is true, else `b` (false or unknown alike).
extension FlowExpression {
    public enum Truth: Sendable, Equatable {
        case yes, no, unknown

        static func of(_ b: Bool) -> Truth { b ? .yes : .no }
    }

    /// Documents the paths read: `event` is `{"name": ..., "data": {...}}` (plus `id`, `ts` where known).
    public struct Documents: Sendable {
        public var event: JSONValue
        public var async: JSONValue?

        public init(event: JSONValue, async: JSONValue? = nil) {
            self.event = event
            self.async = async
        }
    }

    /// True when the expression holds (unknown does not match).
    public func matches(_ docs: Documents) -> Bool {
        truth(docs) == .yes
    }

    /// The expression as a condition.
    public func truth(_ docs: Documents) -> Truth {
        switch self {
        case .not(let e):
            switch e.truth(docs) {
            case .yes: return .no
            case .no: return .yes
            case .unknown: return .unknown
            }
        case .and(let a, let b):
            let l = a.truth(docs), r = b.truth(docs)
            if l == .no || r == .no { return .no }
            return l == .yes && r == .yes ? .yes : .unknown
        case .or(let a, let b):
            let l = a.truth(docs), r = b.truth(docs)
            if l == .yes || r == .yes { return .yes }
            return l == .no && r == .no ? .no : .unknown
        case .compare(let op, let a, let b):
            return Self.compare(op, a.items(docs), b.items(docs))
        case .conditional(let c, let a, let b):
            return c.truth(docs) == .yes ? a.truth(docs) : b.truth(docs)
        case .literal, .path:
            return Self.compare(.equal, items(docs), [.bool(true)])
        }
    }

    /// The expression as a value: the first item a path yields (nil when it yields none), a literal, or a
    /// truth as a boolean (nil when unknown).
    public func value(_ docs: Documents) -> JSONValue? {
        switch self {
        case .literal(let v): return v
        case .path(let root, let keys): return Self.resolve(root == .event ? docs.event : docs.async, keys).first
        case .conditional(let c, let a, let b): return c.truth(docs) == .yes ? a.value(docs) : b.value(docs)
        case .not, .and, .or, .compare:
            switch truth(docs) {
            case .yes: return .bool(true)
            case .no: return .bool(false)
            case .unknown: return nil
            }
        }
    }

    /// Items a comparison sees: arrays unwrapped one level (lax mode).
    private func items(_ docs: Documents) -> [JSONValue] {
        let raw: [JSONValue]
        switch self {
        case .path(let root, let keys): raw = Self.resolve(root == .event ? docs.event : docs.async, keys)
        case .conditional(let c, let a, let b): return c.truth(docs) == .yes ? a.items(docs) : b.items(docs)
        default: raw = value(docs).map { [$0] } ?? []
        }
        return raw.flatMap { item -> [JSONValue] in
            if case .array(let elements) = item { return elements }
            return [item]
        }
    }

    /// Lax member access: an array's elements are each looked into, one level deep.
    static func resolve(_ doc: JSONValue?, _ keys: [String]) -> [JSONValue] {
        guard let doc else { return [] }
        var current = [doc]
        for key in keys {
            current = current.flatMap { item -> [JSONValue] in
                switch item {
                case .object(let members): return members[key].map { [$0] } ?? []
                case .array(let elements): return elements.compactMap { $0[key] }
                default: return []
                }
            }
        }
        return current
    }

    static func compare(_ op: Comparison, _ left: [JSONValue], _ right: [JSONValue]) -> Truth {
        var unknown = false
        for l in left {
            for r in right {
                switch compareItems(op, l, r) {
                case .yes: return .yes
                case .unknown: unknown = true
                case .no: break
                }
            }
        }
        return unknown ? .unknown : .no
    }

    private static func compareItems(_ op: Comparison, _ l: JSONValue, _ r: JSONValue) -> Truth {
        let order: Int
        switch (l, r) {
        case (.null, .null): order = 0
        case (.null, _), (_, .null): return .of(op == .notEqual)
        case (.bool(let a), .bool(let b)): order = a == b ? 0 : (a ? 1 : -1)
        case (.string(let a), .string(let b)):
            let x = Array(a.unicodeScalars.map(\.value)), y = Array(b.unicodeScalars.map(\.value))
            order = x == y ? 0 : (x.lexicographicallyPrecedes(y) ? -1 : 1)
        case (.int(let a), .int(let b)): order = a == b ? 0 : (a < b ? -1 : 1)
        case (.int, .double), (.double, .int), (.double, .double):
            guard let a = number(l), let b = number(r) else { return .unknown }
            order = a == b ? 0 : (a < b ? -1 : 1)
        default: return .unknown
        }
        switch op {
        case .equal: return .of(order == 0)
        case .notEqual: return .of(order != 0)
        case .less: return .of(order < 0)
        case .lessOrEqual: return .of(order <= 0)
        case .greater: return .of(order > 0)
        case .greaterOrEqual: return .of(order >= 0)
        }
    }

    private static func number(_ v: JSONValue) -> Double? {
        switch v {
        case .int(let n): Double(n)
        case .double(let d): d
        default: nil
        }
    }
}
