/// One result row. `columns` is shared by all rows of a result (copy-on-write, not copied per row).
public struct PGRow: Sendable {
    public let columns: [String]
    public let values: [PGValue]

    public init(columns: [String], values: [PGValue]) {
        self.columns = columns
        self.values = values
    }

    /// The value of the first column with this name, or `.null` if there is none.
    /// A linear scan: results have a handful of columns, where this beats building a dictionary per result.
    public subscript(_ name: String) -> PGValue {
        for i in columns.indices where columns[i] == name { return values[i] }
        return .null
    }

    /// The value at a 0-based column position, or `.null` if out of range.
    public subscript(_ i: Int) -> PGValue {
        values.indices.contains(i) ? values[i] : .null
    }
}
