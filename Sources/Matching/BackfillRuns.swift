import BlacklightCore
import Engine
import Foundation
import PGStore

/// The progress of `backfill-embeddings` runs, read from their steps: the "count" step holds the rows to embed, each
/// "batch" step the rows it went through. What `blacklight backfill-embeddings` draws its progress bar from; the
/// dashboard shows the same runs and steps.
public struct BackfillRuns {
    public static let function = "backfill-embeddings"

    public struct Run: Sendable {
        public var id: String
        public var status: String
        /// Rows to embed, once the "count" step has run.
        public var total: Int?
        /// Rows the batches went through (embedded or reported as failed).
        public var done: Int
        public var output: JSONValue?
        public var error: JSONValue?

        public var ended: Bool { ["completed", "failed", "cancelled"].contains(status) }
    }

    public init() {}

    /// The runs the given events started, by event id (an event whose run does not exist yet is left out).
    public func runs(forEvents eventIDs: [String], conn: PGConnection) throws -> [String: Run] {
        let wanted = Set(eventIDs)
        var found: [String: Run] = [:]
        let queries = RunQueries()
        for summary in try queries.list(function: Self.function, limit: max(20, 4 * eventIDs.count), conn: conn) {
            guard let (run, steps, output, error) = try queries.show(summary.id, conn: conn),
                  let event = run.json["event_id"]?.stringValue, wanted.contains(event) else { continue }
            var total: Int?
            var done = 0
            for step in steps where step.status == "completed" {
                if step.key.hasPrefix("count"), let n = step.output?["total"]?.intValue { total = Int(n) }
                if step.key.hasPrefix("batch"), let n = step.output?["count"]?.intValue { done += Int(n) }
            }
            found[event] = Run(id: run.id, status: run.status, total: total, done: done, output: output, error: error)
        }
        return found
    }
}
