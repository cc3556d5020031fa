import BlacklightCore
import Foundation
import PGStore

/// Writes on one run or one function, for the REST API, the dashboard, the CLI and the REPL alike. Each is one
/// transaction; each that makes work ends with a NOTIFY so idle workers look at once (polling stays the truth).
public struct RunControl {
    public init() {}

    static let cancelledColumns = """
        status = 'cancelled', ended_at = clock_timestamp(), locked_by = NULL, error = jsonb_build_object('message', 'cancelled')
        """

    /// Cancels a run that has not finished. A worker never resumes it: the claim takes only queued/running/
    /// sleeping/waiting runs, and a batch's run update skips cancelled ones. A run a worker is executing right now
    /// gets a cancel request instead (`blacklight.cancel_runs`, 0008): its current step finishes, no further step
    /// starts, and the worker writes it cancelled; the answer's status is then `cancelling`, and this call does not
    /// wait for the worker. Returns the run's status after the call, nil when there is no such run.
    public func cancel(_ id: String, conn: PGConnection) throws -> (status: String, changed: Bool)? {
        try conn.transaction { () throws -> (String, Bool)? in
            let before = try conn.query("SELECT function_id FROM blacklight.runs WHERE id = $1", [.text(id)])
            guard let function = before.rows.first?["function_id"].stringValue else { return nil }
            let n = try conn.query("SELECT blacklight.cancel_runs(ARRAY[$1], ARRAY[jsonb_build_object('message', 'cancelled')])",
                                   [.text(id)]).scalar.intValue ?? 0
            let status = try conn.query("SELECT status FROM blacklight.runs WHERE id = $1", [.text(id)]).scalar.stringValue ?? ""
            guard n > 0 else { return (status, false) }
            // Counted before the commit: a cancel whose commit fails is counted anyway (rare, and a counter is not a
            // ledger).
            EngineMetrics.cancelled(function: function)
            return (status == "cancelled" ? status : "cancelling", true)
        }
    }

    /// A new run of the same function for the same event, on the function's active version (so a fixed
    /// script is what reruns). Nil when there is no such run.
    public func rerun(_ id: String, conn: PGConnection) throws -> String? {
        try conn.transaction { () throws -> String? in
            let r = try conn.query("""
                INSERT INTO blacklight.runs (id, function_id, version, kind, parent_run_id, event_id, max_attempts, concurrency_key)
                SELECT blacklight.ulid(), r.function_id, coalesce(f.active_version, r.version), r.kind, r.parent_run_id,
                       r.event_id, coalesce((f.config ->> 'retries')::int + 1, r.max_attempts), r.concurrency_key
                FROM blacklight.runs r LEFT JOIN blacklight.functions f ON f.id = r.function_id
                WHERE r.id = $1
                RETURNING id
                """, [.text(id)])
            try conn.exec("SELECT pg_notify('blacklight_runs', '')")
            return r.rows.first?["id"].stringValue
        }
    }

    public enum FromStepResult: Sendable { case noRun, noStep, started(String) }

    /// A new run on the same version, whose memos are those of the steps before `step` and, when
    /// `output` is given, `step` itself memoized with that JSON: the run replays up to there and
    /// executes the rest live.
    public func rerun(_ id: String, fromStep step: String, output: JSONValue?, conn: PGConnection) throws -> FromStepResult {
        try conn.transaction { () throws -> FromStepResult in
            let found = try conn.query("SELECT seq FROM blacklight.steps WHERE run_id = $1 AND key = $2", [.text(id), .text(step)])
            guard let seq = found.rows.first?["seq"].intValue else {
                let exists = try conn.query("SELECT 1 FROM blacklight.runs WHERE id = $1", [.text(id)])
                return exists.rows.isEmpty ? .noRun : .noStep
            }
            let created = try conn.query("""
                INSERT INTO blacklight.runs (id, function_id, version, kind, parent_run_id, event_id, max_attempts, concurrency_key)
                SELECT blacklight.ulid(), function_id, version, kind, parent_run_id, event_id, max_attempts, concurrency_key
                FROM blacklight.runs WHERE id = $1 RETURNING id
                """, [.text(id)])
            guard let newID = created.rows.first?["id"].stringValue else { return .noRun }
            try conn.exec("""
                INSERT INTO blacklight.steps (run_id, key, seq, kind, status, output, error, attempts, started_at, ended_at, wake_at)
                SELECT $2, key, seq, kind, status, output, error, attempts, started_at, ended_at, wake_at
                FROM blacklight.steps WHERE run_id = $1 AND seq < $3 AND status = 'completed'
                """, [.text(id), .text(newID), .int(seq)])
            if let output {
                try conn.exec("""
                    INSERT INTO blacklight.steps (run_id, key, seq, kind, status, output, attempts, started_at, ended_at)
                    SELECT $2, key, seq, kind, 'completed', $4::jsonb, 1, clock_timestamp(), clock_timestamp()
                    FROM blacklight.steps WHERE run_id = $1 AND key = $3
                    """, [.text(id), .text(newID), .text(step), .json(output.serialized())])
            }
            try conn.exec("SELECT pg_notify('blacklight_runs', '')")
            return .started(newID)
        }
    }

    public enum InvokeResult: Sendable { case noFunction, skipped(eventID: String), started(eventID: String, runID: String) }

    /// Runs a function now with test data: stores a `blacklight/invoke` event (which triggers nothing
    /// else) and enqueues the function for it. Also "run this cron now".
    public func invoke(_ function: String, data: JSONValue, conn: PGConnection) throws -> InvokeResult {
        try conn.transaction { () throws -> InvokeResult in
            let exists = try conn.query("SELECT 1 FROM blacklight.functions WHERE id = $1 AND active_version IS NOT NULL",
                                        [.text(function)])
            if exists.rows.isEmpty { return .noFunction }
            let eventID = ULID.make()
            try conn.exec("INSERT INTO blacklight.events (id, name, data, ts) VALUES ($1, 'blacklight/invoke', $2::jsonb, clock_timestamp())",
                          [.text(eventID), .json(data.serialized())])
            let r = try conn.query("SELECT blacklight.enqueue_run($1, $2, $3::jsonb) AS run_id",
                                   [.text(function), .text(eventID), .json(data.serialized())])
            try conn.exec("SELECT pg_notify('blacklight_runs', '')")
            guard let runID = r.rows.first?["run_id"].stringValue else { return .skipped(eventID: eventID) }
            return .started(eventID: eventID, runID: runID)
        }
    }

    /// The function a schedule starts, for "run this cron now".
    public func scheduleFunction(_ id: String, conn: PGConnection) throws -> (function: String?, event: String?, data: JSONValue)? {
        let r = try conn.query("SELECT function_id, event_name, event_data FROM blacklight.schedules WHERE id = $1", [.text(id)])
        guard let row = r.rows.first else { return nil }
        let data = row["event_data"].jsonText.flatMap { try? JSONValue.parse($0) } ?? .object([:])
        return (row["function_id"].stringValue, row["event_name"].stringValue, data)
    }

    /// The name and data of a stored event, to send again as a new event; nil when there is no such event.
    public func storedEvent(_ id: String, conn: PGConnection) throws -> EventStore.Event? {
        let r = try conn.query("SELECT name, data FROM blacklight.events WHERE id = $1", [.text(id)])
        guard let row = r.rows.first else { return nil }
        let data = row["data"].jsonText.flatMap { try? JSONValue.parse($0) } ?? .object([:])
        return EventStore.Event(name: row["name"].stringValue ?? "", data: data)
    }

    /// The ids of the functions, for the dashboard's filter list.
    public func functionIDs(conn: PGConnection) throws -> [String] {
        try conn.query("SELECT id FROM blacklight.functions ORDER BY id").rows.compactMap { $0["id"].stringValue }
    }
}
