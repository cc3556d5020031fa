/// True when every member of `filter` is present in `data` with an equal value: recursive containment
/// on objects, like PostgreSQL's `jsonb @>`, so an event trigger filter means the same thing whether it
/// is checked here or in SQL.
///
/// - Objects: each member of the filter must be contained in the data's member of the same name.
/// - Arrays: every element of the filter's array must be contained in some element of the data's array
///   (order and duplicates do not matter).
/// - Scalars: equal values; an int equals a double of the same value (`1` equals `1.0`).
/// - As in PostgreSQL, at the top level only, an array contains a scalar that is one of its elements.
public func jsonContains(_ data: JSONValue, _ filter: JSONValue) -> Bool {
    if case .array(let elements) = data, isScalar(filter) {
        return elements.contains { jsonEquals($0, filter) }
    }
    return contains(data, filter)
}

/// Deep equality in which an int equals a double of the same value (`1 == 1.0`), which `==` on
/// `JSONValue` deliberately does not say (it keeps the two apart for replay). Used to match a waiting
/// run's expression against an incoming event.
public func jsonEquals(_ lhs: JSONValue, _ rhs: JSONValue) -> Bool {
    switch (lhs, rhs) {
    case (.array(let left), .array(let right)):
        return left.count == right.count && zip(left, right).allSatisfy { jsonEquals($0, $1) }
    case (.object(let left), .object(let right)):
        return left.count == right.count && left.allSatisfy { key, value in
            right[key].map { jsonEquals(value, $0) } ?? false
        }
    default:
        return scalarsEqual(lhs, rhs)
    }
}

private func contains(_ data: JSONValue, _ filter: JSONValue) -> Bool {
    switch (data, filter) {
    case (.object(let members), .object(let wanted)):
        return wanted.allSatisfy { key, value in
            members[key].map { contains($0, value) } ?? false
        }
    case (.array(let elements), .array(let wanted)):
        return wanted.allSatisfy { want in elements.contains { contains($0, want) } }
    default:
        return scalarsEqual(data, filter)
    }
}

private func scalarsEqual(_ lhs: JSONValue, _ rhs: JSONValue) -> Bool {
    switch (lhs, rhs) {
    case (.null, .null): return true
    case (.bool(let left), .bool(let right)): return left == right
    case (.string(let left), .string(let right)): return left == right
    case (.int(let left), .int(let right)): return left == right
    case (.double(let left), .double(let right)): return left == right
    // Exact comparison: a double equals an int only if it is that very integer, with no rounding
    // through Double (2^53 + 1 is not equal to 2^53 as a double).
    case (.int(let left), .double(let right)), (.double(let right), .int(let left)):
        return Int64(exactly: right) == left
    default: return false
    }
}

private func isScalar(_ value: JSONValue) -> Bool {
    switch value {
    case .array, .object: false
    default: true
    }
}
