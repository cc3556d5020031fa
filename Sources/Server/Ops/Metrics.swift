import Foundation
import PGStore

/// `GET /metrics` in Prometheus text format: this process's counters (see EngineMetrics), then the queue gauges.
///
/// Until issue 10 every scrape aggregated the runs, steps and events tables in full, on the event API's pool: at a
/// million stored runs a scrape took seconds and held an ingest connection meanwhile. The counters are now kept as
/// work happens (per process, which is what Prometheus expects: it sums the processes), so a scrape reads memory.
///
/// The queue gauges stay in the database, because depth is shared by every process: one statement restricted to
/// unfinished runs, which the partial index `runs_due` holds, so its cost follows the backlog and never the history
/// (EXPLAIN at 1M ended runs and 0 live ones: an index scan on runs_due, 0.05 ms). It runs on a connection of its
/// own, with a statement timeout, so a scrape never waits for or takes a connection the event API needs.
final class Metrics: Sendable {
    static let liveStatuses = ["queued", "running", "sleeping", "waiting"]
    static let queueQuery = """
        SELECT status, count(*) AS n, count(*) FILTER (WHERE run_at <= clock_timestamp()) AS due
        FROM blacklight.runs WHERE status IN ('queued','running','sleeping','waiting') GROUP BY status
        """

    private let pool: DatabasePool

    init(url: String, connectTimeout: Int) {
        pool = DatabasePool(url: url, size: 1, connectTimeout: connectTimeout)
    }

    func close() { pool.close() }

    func render() async throws -> String {
        var out = ProcessMetrics.registry.emitToString()
        let rows = try await pool.run { conn in
            try conn.execScript("SET statement_timeout = 2000")
            return try conn.query(Self.queueQuery).rows.map { row in
                (row["status"].stringValue ?? "", row["n"].intValue ?? 0, row["due"].intValue ?? 0)
            }
        }
        var depth: [String: (Int64, Int64)] = [:]
        for (status, n, due) in rows { depth[status] = (n, due) }
        out += "# HELP blacklight_queue_depth Runs not finished, by status (the same in every process).\n"
        out += "# TYPE blacklight_queue_depth gauge\n"
        for s in Self.liveStatuses { out += "blacklight_queue_depth{status=\"\(s)\"} \(depth[s]?.0 ?? 0)\n" }
        out += "# HELP blacklight_queue_due Runs due now (claimable), by status.\n# TYPE blacklight_queue_due gauge\n"
        for s in Self.liveStatuses { out += "blacklight_queue_due{status=\"\(s)\"} \(depth[s]?.1 ?? 0)\n" }
        return out
    }
}
