import Foundation
import PGStore

/// What `blacklight bench engine` reads from the queue while it measures (kept in Engine: the CLI holds no SQL on
/// `blacklight.*`).
public enum EngineBenchQueries {
    public static func runs(status: String, conn: PGConnection) throws -> Int64 {
        try conn.query("SELECT count(*) AS n FROM blacklight.runs WHERE status = $1", [.text(status)]).rows.first?["n"].intValue ?? 0
    }

    /// The newest event's id ('' when there is none): events after it are the ones sent next (ids are ULIDs).
    public static func lastEventID(conn: PGConnection) throws -> String {
        try conn.query("SELECT coalesce(max(id), '') AS m FROM blacklight.events").rows.first?["m"].stringValue ?? ""
    }

    /// Whether any run is still to finish. Polled every 20 ms during the drain, so it walks the partial
    /// index of live runs (`runs_due`) rather than counting the table: a `count(*)` over 20,000 rows at
    /// that rate took a good part of a core from the server being measured (pg_stat_statements).
    public static func unfinished(conn: PGConnection) throws -> Bool {
        try conn.query("SELECT EXISTS (SELECT 1 FROM blacklight.runs WHERE status IN ('queued','running','sleeping','waiting')) AS busy")
            .rows.first?["busy"].boolValue ?? true
    }

    public struct Latency: Sendable {
        public var count: Int64
        public var p50: Double
        public var p99: Double
        public var max: Double
    }

    /// Event-to-step latency (ms) of the events after `marker`, to the start of their run's step `step`.
    public static func eventToStep(after marker: String, step: String, conn: PGConnection) throws -> Latency {
        let row = try conn.query("""
            SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) AS p50, percentile_cont(0.99) WITHIN GROUP (ORDER BY ms) AS p99,
                   max(ms) AS max, count(*) AS n
            FROM (SELECT extract(epoch FROM s.started_at - e.received_at) * 1000 AS ms
                  FROM blacklight.events e JOIN blacklight.runs r ON r.event_id = e.id
                  JOIN blacklight.steps s ON s.run_id = r.id AND s.key = $2
                  WHERE e.id > $1) t
            """, [.text(marker), .text(step)]).rows.first
        return Latency(count: row?["n"].intValue ?? 0, p50: row?["p50"].doubleValue ?? -1, p99: row?["p99"].doubleValue ?? -1,
                       max: row?["max"].doubleValue ?? -1)
    }
}
