extension JSONValue {
    /// The first part of this value that would not be stored as it is: a string or key with U+0000 (PostgreSQL's
    /// jsonb and text refuse it), a NaN or infinite number (JSON has none: it would turn into `null`), or nesting
    /// deeper than `maxDepth` (this value itself is level 1). Returns the path to it (`.items[3].name`, empty for
    /// this value) and what is wrong, or nil when all of it can be stored. Recursion stops at `maxDepth`.
    public func unstorablePart(maxDepth: Int) -> (path: String, problem: String)? {
        guard let (reversed, problem) = firstUnstorable(depth: 1, maxDepth: maxDepth) else { return nil }
        return (reversed.reversed().joined(), problem)
    }

    /// As `unstorablePart`, with the path innermost first (it is built while returning).
    private func firstUnstorable(depth: Int, maxDepth: Int) -> ([String], String)? {
        switch self {
        case .double(let d) where !d.isFinite:
            return ([], "\(d) is not a JSON number (NaN and infinities cannot be stored)")
        case .string(let s) where s.utf8.contains(0):
            return ([], "contains the character U+0000, which cannot be stored")
        case .array(let elements):
            if depth > maxDepth { return ([], "nested deeper than \(maxDepth) levels") }
            for (i, element) in elements.enumerated() {
                if var found = element.firstUnstorable(depth: depth + 1, maxDepth: maxDepth) {
                    found.0.append("[\(i)]")
                    return found
                }
            }
        case .object(let members):
            if depth > maxDepth { return ([], "nested deeper than \(maxDepth) levels") }
            for (key, member) in members {
                if key.utf8.contains(0) {
                    return ([".\(key.split(separator: "\0", omittingEmptySubsequences: false).joined(separator: "\\u0000"))"], "the key contains the character U+0000, "
                        + "which cannot be stored")
                }
                if var found = member.firstUnstorable(depth: depth + 1, maxDepth: maxDepth) {
                    found.0.append(".\(key)")
                    return found
                }
            }
        default:
            break
        }
        return nil
    }
}
