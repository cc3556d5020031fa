import Foundation

/// Rows retention deleted (or, for a dry run, would delete), per table.
public struct PruneCounts: Sendable, Equatable {
    public var runs = 0
    public var steps = 0
    public var logs = 0
    public var waits = 0
    public var events = 0
    public var eventIDs = 0
    public var idempotencyKeys = 0
    public var versions = 0

    public init() {}

    public var total: Int { runs + steps + logs + waits + events + eventIDs + idempotencyKeys + versions }

    /// Table name and count, in the order the pruner deletes them.
    public var tables: [(table: String, rows: Int)] {
        [("runs", runs), ("steps", steps), ("run_logs", logs), ("waits", waits), ("events", events),
         ("event_ids", eventIDs), ("idempotency", idempotencyKeys), ("function_versions", versions)]
    }

    /// One line per table, names padded so the counts align; what `blacklight prune` prints.
    public var table: String {
        tables.map { $0.table.padding(toLength: 18, withPad: " ", startingAt: 0) + String($0.rows) }.joined(separator: "\n")
    }

    /// `runs=3 steps=9 ...`, for a log line.
    public var summary: String {
        tables.map { "\($0.table)=\($0.rows)" }.joined(separator: " ")
    }
}
