import Foundation
import PGStore

/// What `blacklight bench chaos` reads once the load has stopped: the fate of each acknowledged event's run.
public enum ChaosQueries {
    public struct FunctionRuns: Sendable {
        public var functionID: String
        public var completed: Int64
        public var failed: Int64
        public var extraAttempts: Int64
    }

    public struct Outcome: Sendable {
        public var runs: [FunctionRuns]
        /// Acknowledged events not stored.
        public var lost: Int64
        /// Acknowledged events whose run did not complete.
        public var notRun: Int64
        /// Step effects (rows of `chaos_effects`) applied more than once.
        public var appliedTwice: Int64
        public var ticks: Int64
        public var distinctTicks: Int64
        /// Each event's arrival (seconds since 1970) and its event-to-first-step latency in ms.
        public var latencies: [(at: Double, ms: Double)]
    }

    /// Acknowledged events whose run has not ended yet.
    public static func unfinished(_ eventIDs: [String], conn: PGConnection) throws -> Int64 {
        try conn.query("""
            SELECT count(*) FROM unnest($1::text[]) a(id)
            WHERE NOT EXISTS (SELECT 1 FROM blacklight.runs r WHERE r.event_id = a.id AND r.status IN ('completed', 'failed', 'cancelled'))
            """, [.array(eventIDs.map { .text($0) })]).scalar.intValue ?? -1
    }

    public static func outcome(_ eventIDs: [String], firstStep: String, conn: PGConnection) throws -> Outcome {
        let ids = PGValue.array(eventIDs.map { .text($0) })
        let runs = try conn.query("""
            SELECT function_id, count(*) FILTER (WHERE status = 'completed') AS completed,
                   count(*) FILTER (WHERE status = 'failed') AS failed, coalesce(sum(attempt - 1), 0) AS extra_attempts
            FROM blacklight.runs GROUP BY function_id ORDER BY function_id
            """).rows.map {
            FunctionRuns(functionID: $0["function_id"].stringValue ?? "?", completed: $0["completed"].intValue ?? 0,
                         failed: $0["failed"].intValue ?? 0, extraAttempts: $0["extra_attempts"].intValue ?? 0)
        }
        let lost = try conn.query("""
            SELECT count(*) FROM unnest($1::text[]) a(id) WHERE NOT EXISTS (SELECT 1 FROM blacklight.events e WHERE e.id = a.id)
            """, [ids]).scalar.intValue ?? -1
        let notRun = try conn.query("""
            SELECT count(*) FROM unnest($1::text[]) a(id)
            WHERE NOT EXISTS (SELECT 1 FROM blacklight.runs r WHERE r.event_id = a.id AND r.status = 'completed')
            """, [ids]).scalar.intValue ?? -1
        let twice = try conn.query("""
            SELECT coalesce(sum(n - 1), 0) FROM (SELECT count(*) AS n FROM chaos_effects GROUP BY run_id, step) t
            """).scalar.intValue ?? -1
        let ticks = try conn.query("SELECT count(*) AS n, count(DISTINCT tick) AS d FROM chaos_ticks").rows.first
        let latencies = try conn.query("""
            SELECT extract(epoch FROM e.received_at)::float8 AS at, (extract(epoch FROM s.started_at - e.received_at) * 1000)::float8 AS ms
            FROM unnest($1::text[]) a(id) JOIN blacklight.events e ON e.id = a.id
            JOIN blacklight.runs r ON r.event_id = e.id JOIN blacklight.steps s ON s.run_id = r.id AND s.key = $2
            """, [ids, .text(firstStep)]).rows.compactMap { row -> (at: Double, ms: Double)? in
            guard let at = row["at"].doubleValue, let ms = row["ms"].doubleValue else { return nil }
            return (at, ms)
        }
        return Outcome(runs: runs, lost: lost, notRun: notRun, appliedTwice: twice, ticks: ticks?["n"].intValue ?? 0,
                       distinctTicks: ticks?["d"].intValue ?? 0, latencies: latencies)
    }
}
