import BlacklightCore
import Foundation
import PGStore

extension EventStore {
    /// A function an event triggers but started no run of (migration 0008's `blacklight.skips`).
    public struct Skip: Sendable, Equatable {
        public var functionID: String
        /// `rate_limit`, or `debounce` (a later event of the same key took this one's place in `runID`).
        public var reason: String
        public var key: String?
        public var runID: String?
    }

    /// The skips of each of `events` that has any.
    public func skips(of events: [String], conn: PGConnection) throws -> [String: [Skip]] {
        let rows = try conn.query("""
            SELECT event_id, function_id, reason, key, run_id FROM blacklight.skips WHERE event_id = ANY($1::text[]) ORDER BY at
            """, [.array(events.map { .text($0) })]).rows
        var out: [String: [Skip]] = [:]
        for row in rows {
            guard let event = row["event_id"].stringValue else { continue }
            out[event, default: []].append(Skip(functionID: row["function_id"].stringValue ?? "", reason: row["reason"].stringValue ?? "",
                                                key: row["key"].stringValue, runID: row["run_id"].stringValue))
        }
        return out
    }
}
