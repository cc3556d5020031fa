/// The outcome of one statement.
public struct PGResult: Sendable {
    public let columns: [String]
    public let rows: [PGRow]
    /// Rows inserted, updated, deleted, selected, ... as reported by the server; 0 when the command has no count.
    public let affectedRows: Int
    /// The command tag, e.g. "INSERT 0 1", "UPDATE 3", "SELECT 2", "CREATE TABLE".
    public let command: String

    public init(columns: [String], rows: [PGRow], affectedRows: Int, command: String) {
        self.columns = columns
        self.rows = rows
        self.affectedRows = affectedRows
        self.command = command
    }

    /// The first value of the first row, or `.null` when there is no row (for `SELECT count(*) ...`).
    public var scalar: PGValue { rows.first?.values.first ?? .null }
}
