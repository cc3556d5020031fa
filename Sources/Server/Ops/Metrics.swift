import Foundation
import PGStore

/// Prometheus text format, computed from the database at scrape time.
///
/// Why not in-process counters (swift-prometheus): runs are started, retried and finished by any number
/// of worker processes on other machines, so no one process's counters are the truth; the tables are.
/// A scrape costs a few aggregate queries over runs and steps (the step histogram reads every stored
/// step: fine at the retention this engine keeps, worth a longer scrape interval at tens of millions of
/// rows), and the build stays lean.
/// Counters are derived from rows still stored, so they drop if old runs are deleted: Prometheus
/// treats that as a counter reset, which rate() handles.
struct Metrics {
    static let stepBuckets: [Double] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300]

    func render(conn: PGConnection) throws -> String {
        var out = ""
        let runs = try conn.query("""
            SELECT function_id, count(*) AS created,
                   count(*) FILTER (WHERE started_at IS NOT NULL) AS started,
                   count(*) FILTER (WHERE status = 'completed') AS completed,
                   count(*) FILTER (WHERE status = 'failed') AS failed,
                   count(*) FILTER (WHERE status = 'cancelled') AS cancelled,
                   coalesce(sum(attempt - 1), 0) AS retried
            FROM blacklight.runs GROUP BY function_id ORDER BY function_id
            """)
        for (metric, column, help) in [
            ("blacklight_runs_created_total", "created", "Runs enqueued."),
            ("blacklight_runs_started_total", "started", "Runs that began executing."),
            ("blacklight_runs_completed_total", "completed", "Runs that completed."),
            ("blacklight_runs_failed_total", "failed", "Runs that failed after their last attempt."),
            ("blacklight_runs_cancelled_total", "cancelled", "Runs cancelled."),
            ("blacklight_runs_retried_total", "retried", "Retry attempts (attempts after the first)."),
        ] {
            out += "# HELP \(metric) \(help)\n# TYPE \(metric) counter\n"
            for row in runs.rows {
                out += "\(metric){function=\"\(label(row["function_id"].stringValue ?? ""))\"} \(row[column].intValue ?? 0)\n"
            }
        }

        let queue = try conn.query("""
            SELECT s.status, count(r.id) AS n, count(r.id) FILTER (WHERE r.run_at <= clock_timestamp()) AS due
            FROM unnest(ARRAY['queued','running','sleeping','waiting']) s(status)
            LEFT JOIN blacklight.runs r ON r.status = s.status GROUP BY s.status ORDER BY s.status
            """)
        out += "# HELP blacklight_queue_depth Runs not finished, by status.\n# TYPE blacklight_queue_depth gauge\n"
        for row in queue.rows { out += "blacklight_queue_depth{status=\"\(row["status"].stringValue ?? "")\"} \(row["n"].intValue ?? 0)\n" }
        out += "# HELP blacklight_queue_due Runs due now (claimable), by status.\n# TYPE blacklight_queue_due gauge\n"
        for row in queue.rows { out += "blacklight_queue_due{status=\"\(row["status"].stringValue ?? "")\"} \(row["due"].intValue ?? 0)\n" }

        let buckets = Self.stepBuckets
        out += "# HELP blacklight_step_duration_seconds Duration of step.run steps.\n# TYPE blacklight_step_duration_seconds histogram\n"
        // One pass over the steps; the bucket bounds are bound as an array, the FILTER list only indexes it.
        let filters = buckets.indices.map { "count(*) FILTER (WHERE d <= ($1::float8[])[\($0 + 1)])" }.joined(separator: ", ")
        let hist = try conn.query("""
            SELECT r.function_id, count(*) AS n, coalesce(sum(d), 0)::float8 AS total, ARRAY[\(filters)] AS counts
            FROM (SELECT run_id, extract(epoch FROM ended_at - started_at)::float8 AS d FROM blacklight.steps
                  WHERE kind = 'run' AND ended_at IS NOT NULL AND started_at IS NOT NULL) s
            JOIN blacklight.runs r ON r.id = s.run_id
            GROUP BY r.function_id ORDER BY r.function_id
            """, [.array(buckets.map { .double($0) })])
        for row in hist.rows {
            let f = label(row["function_id"].stringValue ?? "")
            let counts = row["counts"].arrayValue?.map { $0.intValue ?? 0 } ?? []
            for (i, b) in buckets.enumerated() {
                out += "blacklight_step_duration_seconds_bucket{function=\"\(f)\",le=\"\(b)\"} \(i < counts.count ? counts[i] : 0)\n"
            }
            out += "blacklight_step_duration_seconds_bucket{function=\"\(f)\",le=\"+Inf\"} \(row["n"].intValue ?? 0)\n"
            out += "blacklight_step_duration_seconds_sum{function=\"\(f)\"} \(row["total"].doubleValue ?? 0)\n"
            out += "blacklight_step_duration_seconds_count{function=\"\(f)\"} \(row["n"].intValue ?? 0)\n"
        }

        let events = try conn.query("SELECT count(*) AS n FROM blacklight.events").scalar.intValue ?? 0
        out += "# HELP blacklight_events_ingested_total Events stored.\n# TYPE blacklight_events_ingested_total counter\n"
        out += "blacklight_events_ingested_total \(events)\n"
        return out
    }

    /// Escapes a label value (backslash, quote, newline) as the text format requires.
    func label(_ s: String) -> String {
        s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n")
    }
}
