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

    /// What each check reads first (public: tests recognise a scheduler's check by it in `pg_stat_activity`).
    public static let readSchedules = """
        SELECT id, function_id, expression, timezone, jitter, event_name, event_data, last_tick, last_error
        FROM blacklight.schedules
        """

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
    ///
    /// Each schedule fires in isolation: one whose fire fails (or whose stored expression no longer
    /// parses) gets the error on its row and the others still fire. The failed tick is not consumed,
    /// so the next check (a second later) tries it again until it fires. Only a broken connection
    /// ends the tick for all (`run` reconnects).
    @discardableResult
    public func tick(now: Date) throws -> [String] {
        if conn == nil || conn?.isOpen == false { conn = try PGConnection(url: url) }
        guard let conn else { return [] }
        let rows = try conn.query(Self.readSchedules)
        var created: [String] = []
        for row in rows.rows {
            guard let id = row["id"].stringValue, let expression = row["expression"].stringValue else { continue }
            let cron: CronExpression
            do {
                cron = try Self.expression(expression, timezone: row["timezone"].stringValue)
            } catch {
                // Nothing was attempted, and the text stays wrong until someone edits it: written once.
                let message = "\(error)"
                if row["last_error"].stringValue != message {
                    try record(error: message, schedule: id, conn: conn)
                    log.warning("schedule \(id): \(message)")
                }
                continue
            }
            let jitter = row["jitter"].doubleValue ?? 0
            guard var due = cron.previous(atOrBefore: now) else { continue }
            if jitter > 0, due.addingTimeInterval(CronExpression.jitterOffset(maxSeconds: jitter, key: id, tick: due)) > now {
                guard let earlier = cron.previous(atOrBefore: due.addingTimeInterval(-1)) else { continue }
                due = earlier
            }
            if let last = row["last_tick"].dateValue, last >= due { continue }
            do {
                if let made = try fire(id: id, tick: due, row: row, conn: conn) { created.append(made) }
            } catch {
                guard conn.isOpen else { throw error }
                let message = "tick \(TimeValue.iso(due.timeIntervalSince1970)): \(Self.describe(error))"
                try record(error: message, schedule: id, conn: conn)
                if row["last_error"].stringValue != message { log.error("schedule \(id): \(message)") }
            }
        }
        return created
    }

    /// The expression with its stored timezone; an unknown timezone is an error too, not UTC.
    static func expression(_ text: String, timezone: String?) throws -> CronExpression {
        var zone: TimeZone?
        if let timezone {
            guard let z = TimeZone(identifier: timezone) else { throw EngineError(.validation, "unknown timezone '\(timezone)'") }
            zone = z
        }
        do {
            return try CronExpression(text, timeZone: zone)
        } catch {
            throw EngineError(.validation, "invalid cron expression '\(text)': \(error)")
        }
    }

    /// A failed fire is written on every attempt, so `last_error_at` says when it last failed.
    private func record(error message: String, schedule id: String, conn: PGConnection) throws {
        try conn.exec("UPDATE blacklight.schedules SET last_error = $2, last_error_at = now() WHERE id = $1",
                      [.text(id), .text(message)])
    }

    /// The server's message without the statement text, which names our SQL rather than the schedule's problem.
    static func describe(_ error: Error) -> String {
        guard let pg = error as? PGError, let state = pg.sqlState else { return "\(error)" }
        return "\(pg.severity ?? "ERROR") \(state): \(pg.message)" + (pg.detail.map { " — \($0)" } ?? "")
    }

    private func fire(id: String, tick: Date, row: PGRow, conn: PGConnection) throws -> String? {
        try conn.transaction { () throws -> String? in
            let moved = try conn.query("""
                UPDATE blacklight.schedules SET last_tick = $2
                WHERE id = $1 AND (last_tick IS NULL OR last_tick < $2) RETURNING id
                """, [.text(id), .timestamp(tick)])
            guard !moved.rows.isEmpty else { return nil }
            if row["last_error"].stringValue != nil {
                try conn.exec("UPDATE blacklight.schedules SET last_error = NULL, last_error_at = NULL WHERE id = $1", [.text(id)])
            }
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
