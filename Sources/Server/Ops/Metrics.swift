import Engine
import Foundation
import PGStore

/// `GET /metrics` in Prometheus text format: this process's counters (see EngineMetrics), then the queue gauges.
///
/// Until issue 10 every scrape aggregated the runs, steps and events tables in full, on the event API's pool: at a
/// million stored runs a scrape took seconds and held an ingest connection meanwhile. The counters are now kept as
/// work happens (per process, which is what Prometheus expects: it sums the processes), so a scrape reads memory.
///
/// The queue gauges stay in the database, because depth is shared by every process (QueueDepth: one statement over
/// the unfinished runs only). It runs on a connection of its own, with a statement timeout, so a scrape never waits
/// for or takes a connection the event API needs.
final class Metrics: Sendable {
    private let pool: DatabasePool

    init(url: String, connectTimeout: Int) {
        pool = DatabasePool(url: url, size: 1, connectTimeout: connectTimeout)
    }

    func close() { pool.close() }

    func render() async throws -> String {
        var out = ProcessMetrics.registry.emitToString()
        let queue = try await pool.run { conn in
            try conn.execScript("SET statement_timeout = 2000")
            return try QueueDepth.read(conn)
        }
        out += "# HELP blacklight_queue_depth Runs not finished, by status (the same in every process).\n"
        out += "# TYPE blacklight_queue_depth gauge\n"
        for s in QueueDepth.statuses { out += "blacklight_queue_depth{status=\"\(s)\"} \(queue.depth[s] ?? 0)\n" }
        out += "# HELP blacklight_queue_due Runs due now (claimable), by status.\n# TYPE blacklight_queue_due gauge\n"
        for s in QueueDepth.statuses { out += "blacklight_queue_due{status=\"\(s)\"} \(queue.due[s] ?? 0)\n" }
        return out
    }
}
