import BlacklightCore
import Foundation
import Logging
import PGStore

/// Fires cron ticks. Every process may run one; the database decides which fires each tick: the
/// UPDATE only succeeds if it moves `last_tick` forward, and the row lock serialises contenders.
///
/// Catch-up policy: after downtime only the most recent missed tick fires (once); older missed ticks
/// are skipped, as a crontab would after a reboot.
public final class CronScheduler {
    let url: String
    let log: Logger
    private var conn: PGConnection?

    public init(url: String, log: Logger) {
        self.url = url
        self.log = log
    }

    /// Runs until `stop`, checking once a second (just after each second boundary).
    public func run(stop: StopFlag) {
        while !stop.isStopped {
            do {
                _ = try tick(now: Date())
            } catch {
                log.error("scheduler: \(error)")
                conn?.close()
                conn = nil
            }
            let now = Date().timeIntervalSince1970
            Thread.sleep(forTimeInterval: max(0.05, 1.0 - (now - floor(now)) + 0.01))
        }
        conn?.close()
    }

    /// Fires every schedule whose latest due tick is newer than its last one. Returns the run or
    /// event ids it created (for tests).
    @discardableResult
    public func tick(now: Date) throws -> [String] {
        if conn == nil || conn?.isOpen == false { conn = try PGConnection(url: url) }
        guard let conn else { return [] }
        let rows = try conn.query("SELECT id, function_id, expression, timezone, jitter, event_name, event_data, last_tick FROM blacklight.schedules")
        var created: [String] = []
        for row in rows.rows {
            guard let id = row["id"].stringValue, let expression = row["expression"].stringValue else { continue }
            let zone = row["timezone"].stringValue.flatMap(TimeZone.init(identifier:))
            guard let cron = try? CronExpression(expression, timeZone: zone) else {
                log.warning("schedule \(id): invalid cron expression '\(expression)'")
                continue
            }
            let jitter = row["jitter"].doubleValue ?? 0
            guard var due = cron.previous(atOrBefore: now) else { continue }
            if jitter > 0, due.addingTimeInterval(CronExpression.jitterOffset(maxSeconds: jitter, key: id, tick: due)) > now {
                guard let earlier = cron.previous(atOrBefore: due.addingTimeInterval(-1)) else { continue }
                due = earlier
            }
            if let last = row["last_tick"].dateValue, last >= due { continue }
            if let made = try fire(id: id, tick: due, row: row, conn: conn) { created.append(made) }
        }
        return created
    }

    private func fire(id: String, tick: Date, row: PGRow, conn: PGConnection) throws -> String? {
        try conn.transaction { () throws -> String? in
            let moved = try conn.query("""
                UPDATE blacklight.schedules SET last_tick = $2
                WHERE id = $1 AND (last_tick IS NULL OR last_tick < $2) RETURNING id
                """, [.text(id), .timestamp(tick)])
            guard !moved.rows.isEmpty else { return nil }
            let iso = TimeValue.iso(tick.timeIntervalSince1970)
            if let function = row["function_id"].stringValue {
                let data = JSONValue.object(["cron": row["expression"].stringValue.map { .string($0) } ?? .null,
                                             "function_id": .string(function), "tick": .string(iso)])
                let r = try conn.query("""
                    WITH e AS (
                        INSERT INTO blacklight.events (id, name, data, ts) VALUES (blacklight.ulid(), 'blacklight/cron', $2::jsonb, $3)
                        RETURNING id
                    )
                    SELECT blacklight.enqueue_run($1, e.id, $2::jsonb) AS run_id FROM e
                    """, [.text(function), .json(data.serialized()), .timestamp(tick)])
                try conn.exec("SELECT pg_notify('blacklight_runs', '')")
                log.info("cron \(id) fired for \(iso)")
                return r.rows.first?["run_id"].stringValue
            }
            if let name = row["event_name"].stringValue {
                let data = row["event_data"].jsonText ?? "{}"
                let r = try conn.query("SELECT blacklight.ingest_event($1, $2::jsonb) AS id", [.text(name), .json(data)])
                return r.rows.first?["id"].stringValue
            }
            return nil
        }
    }
}
