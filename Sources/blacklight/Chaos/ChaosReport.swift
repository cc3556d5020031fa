import Foundation
import PGStore

/// What the chaos bench checks and prints, read from the database once the runs have drained.
struct ChaosReport {
    let url: String
    let acks: [ChaosLoad.Ack]
    private var ids: PGValue { .array(acks.map { .text($0.eventID) }) }

    init(url: String, acks: [ChaosLoad.Ack]) throws {
        self.url = url
        self.acks = acks
    }

    /// Waits until the run of every acknowledged event has ended (or `timeout`).
    func waitForRuns(timeout: Double) throws {
        let conn = try PGConnection(url: url)
        defer { conn.close() }
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if try unfinished(conn) == 0 { return }
            Thread.sleep(forTimeInterval: 0.2)
        }
    }

    private func unfinished(_ conn: PGConnection) throws -> Int64 {
        try conn.query("""
            SELECT count(*) FROM unnest($1::text[]) a(id)
            WHERE NOT EXISTS (SELECT 1 FROM blacklight.runs r WHERE r.event_id = a.id AND r.status IN ('completed', 'failed', 'cancelled'))
            """, [ids]).scalar.intValue ?? -1
    }

    func print(statuses: [Int: Int], slowestAnswer: Double, drainSeconds: Double, faults: FaultLog) throws {
        let conn = try PGConnection(url: url)
        defer { conn.close() }
        let runs = try conn.query("""
            SELECT function_id, count(*) FILTER (WHERE status = 'completed') AS completed,
                   count(*) FILTER (WHERE status = 'failed') AS failed, coalesce(sum(attempt - 1), 0) AS extra_attempts
            FROM blacklight.runs GROUP BY function_id ORDER BY function_id
            """).rows
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
            JOIN blacklight.runs r ON r.event_id = e.id JOIN blacklight.steps s ON s.run_id = r.id AND s.key = 'a'
            """, [ids]).rows

        // An event counts as "during a fault" if it arrived from 1 s before a fault began to 1 s after it ended.
        let windows = faults.faults.map { ($0.from.timeIntervalSince1970 - 1, $0.to.timeIntervalSince1970 + 1) }
        var during: [Double] = [], outside: [Double] = []
        for row in latencies {
            guard let at = row["at"].doubleValue, let ms = row["ms"].doubleValue else { continue }
            if windows.contains(where: { at >= $0.0 && at <= $0.1 }) { during.append(ms) } else { outside.append(ms) }
        }
        let kills = faults.faults.filter { $0.kind == .workerKill }
        let restarts = faults.faults.filter { $0.kind == .postgresRestart }
        let answers = statuses.sorted { $0.key < $1.key }.map { "\($0.key == -1 ? "no answer" : "\($0.key)"): \($0.value)" }

        Swift.print("faults: \(kills.count) worker SIGKILLs, \(restarts.count) PostgreSQL restarts (down "
                    + restarts.map { String(format: "%.2f s", $0.to.timeIntervalSince($0.from)) }.joined(separator: ", ") + ")")
        Swift.print("HTTP answers: \(answers.joined(separator: ", ")); slowest \(String(format: "%.3f", slowestAnswer)) s")
        for row in runs {
            Swift.print("runs \(row["function_id"].stringValue ?? "?"): \(row["completed"].intValue ?? 0) completed, "
                        + "\(row["failed"].intValue ?? 0) failed, \(row["extra_attempts"].intValue ?? 0) attempts after the first")
        }
        let completed = runs.reduce(Int64(0)) { $0 + ($1["completed"].intValue ?? 0) }
        Swift.print("runs completed: \(completed) (drained \(String(format: "%.1f", drainSeconds)) s after the load stopped)")
        Swift.print("acknowledged events: \(acks.count); lost: \(lost); acknowledged but run not completed: \(notRun)")
        Swift.print("step effects applied twice: \(twice); cron ticks: \(ticks?["n"].intValue ?? 0), fired twice: "
                    + "\((ticks?["n"].intValue ?? 0) - (ticks?["d"].intValue ?? 0))")
        Swift.print(String(format: "event-to-first-step latency during faults: p50 %.1f ms, p99 %.1f ms, max %.1f ms (%d events)",
                           Self.percentile(during, 0.5), Self.percentile(during, 0.99), during.max() ?? 0, during.count))
        Swift.print(String(format: "event-to-first-step latency outside faults: p50 %.1f ms, p99 %.1f ms, max %.1f ms (%d events)",
                           Self.percentile(outside, 0.5), Self.percentile(outside, 0.99), outside.max() ?? 0, outside.count))
    }

    static func percentile(_ values: [Double], _ p: Double) -> Double {
        let s = values.sorted()
        return s.isEmpty ? 0 : s[min(s.count - 1, Int((Double(s.count - 1) * p).rounded()))]
    }
}
