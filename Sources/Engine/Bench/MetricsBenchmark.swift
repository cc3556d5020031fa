import Foundation
import PGStore

/// The database side of `blacklight bench metrics`: a backlog beside `PruneBenchmark`'s history, the queue gauge's
/// plan, and the statements every scrape ran before issue 10 (for the comparison only).
public enum MetricsBenchmark {
    public struct Stored: Sendable {
        public var runs: Int64
        public var steps: Int64
    }

    /// Adds `count` queued runs of `version` (due tomorrow, so no worker takes them), analyses the tables, and
    /// says what is stored.
    public static func addBacklog(_ count: Int, version: String, conn: PGConnection) throws -> Stored {
        try conn.exec("""
            INSERT INTO blacklight.runs (id, function_id, version, status, attempt, max_attempts, run_at, created_at)
            SELECT 'Q' || lpad(g::text, 25, '0'), 'bench-prune', $1, 'queued', 1, 4, now() + interval '1 day', now()
            FROM generate_series(1, $2::int) g
            """, [.text(version), .int(Int64(count))])
        try conn.execScript("VACUUM ANALYZE blacklight.runs, blacklight.steps, blacklight.events")
        return Stored(runs: try conn.query("SELECT count(*) FROM blacklight.runs").scalar.intValue ?? 0,
                      steps: try conn.query("SELECT count(*) FROM blacklight.steps").scalar.intValue ?? 0)
    }

    /// The plan of the queue gauge's statement, as `EXPLAIN ANALYZE` prints it.
    public static func queueGaugePlan(conn: PGConnection) throws -> [String] {
        try conn.query("EXPLAIN (ANALYZE, BUFFERS, TIMING OFF) " + QueueDepth.query).rows.compactMap { $0[0].stringValue }
    }

    /// Runs the statements of the scrape before issue 10 once; returns the milliseconds they took.
    public static func legacyScrape(conn: PGConnection) throws -> Double {
        let started = Date()
        for sql in legacyStatements { _ = try conn.query(sql) }
        return Date().timeIntervalSince(started) * 1000
    }

    static let legacyStatements = [
        """
        SELECT function_id, count(*), count(*) FILTER (WHERE started_at IS NOT NULL), count(*) FILTER (WHERE status = 'completed'),
               count(*) FILTER (WHERE status = 'failed'), count(*) FILTER (WHERE status = 'cancelled'), coalesce(sum(attempt - 1), 0)
        FROM blacklight.runs GROUP BY function_id
        """,
        """
        SELECT s.status, count(r.id) FROM unnest(ARRAY['queued','running','sleeping','waiting']) s(status)
        LEFT JOIN blacklight.runs r ON r.status = s.status GROUP BY s.status
        """,
        """
        SELECT r.function_id, count(*), sum(d) FROM (SELECT run_id, extract(epoch FROM ended_at - started_at)::float8 AS d
            FROM blacklight.steps WHERE kind = 'run' AND ended_at IS NOT NULL AND started_at IS NOT NULL) s
        JOIN blacklight.runs r ON r.id = s.run_id GROUP BY r.function_id
        """,
        "SELECT count(*) FROM blacklight.events",
    ]
}
