import BlacklightCore
import Foundation
import PGStore

/// The debugger's reads and writes of runs.
enum DebugQueries {
    /// A run with everything an execution needs, in the shape of a worker's claim.
    static let run = """
        SELECT r.id, r.function_id, r.version, r.kind, r.parent_run_id, r.attempt, r.max_attempts,
               coalesce(r.ctx_now, r.created_at) AS ctx_now, r.created_at, r.started_at, r.concurrency_key, r.status, r.output, r.error,
               (SELECT p.error FROM blacklight.runs p WHERE p.id = r.parent_run_id) AS parent_error,
               (SELECT jsonb_build_object('id', e.id, 'name', e.name, 'data', e.data,
                                          'ts', (extract(epoch FROM e.ts) * 1000)::bigint)
                FROM blacklight.events e WHERE e.id = r.event_id) AS event
        FROM blacklight.runs r WHERE r.id = $1
        """

    static let steps = """
        SELECT key, seq, status, output, error, wake_at, attempts FROM blacklight.steps WHERE run_id = $1 ORDER BY seq, key
        """

    /// `ClaimQueries.claim` for one given run: `:resume` executes only the run it resumed.
    static let claimOne = """
        UPDATE blacklight.runs r
        SET status = 'running', locked_by = $2, run_at = clock_timestamp() + make_interval(secs => $3),
            started_at = coalesce(r.started_at, clock_timestamp()), ctx_now = coalesce(r.ctx_now, clock_timestamp())
        WHERE r.id = (SELECT id FROM blacklight.runs WHERE id = $1 AND status IN ('queued','running','sleeping','waiting')
                      AND run_at <= clock_timestamp() FOR UPDATE SKIP LOCKED)
        RETURNING r.id, r.function_id, r.version, r.kind, r.parent_run_id, r.attempt, r.max_attempts, r.ctx_now,
                  r.created_at, r.started_at, r.concurrency_key,
                  (SELECT p.error FROM blacklight.runs p WHERE p.id = r.parent_run_id) AS parent_error,
                  (SELECT jsonb_build_object('id', e.id, 'name', e.name, 'data', e.data,
                                             'ts', (extract(epoch FROM e.ts) * 1000)::bigint)
                   FROM blacklight.events e WHERE e.id = r.event_id) AS event
        """

    static func claim(_ row: PGRow) -> ClaimedRun { ClaimedRun(row: row) }

    struct StoredStep {
        var key: String
        var seq: Int
        var memo: StepMemo
        var error: JSONValue?
    }

    static func storedSteps(_ runID: String, conn: PGConnection) throws -> [StoredStep] {
        try conn.query(steps, [.text(runID)]).rows.compactMap { row in
            guard let key = row["key"].stringValue, let status = StepMemo.Status(rawValue: row["status"].stringValue ?? "") else {
                return nil
            }
            let memo = StepMemo(status: status, output: row["output"].jsonText.flatMap { try? JSONValue.parse($0) },
                                wakeAt: row["wake_at"].dateValue, attempts: Int(row["attempts"].intValue ?? 1))
            return StoredStep(key: key, seq: Int(row["seq"].intValue ?? 0), memo: memo,
                              error: row["error"].jsonText.flatMap { try? JSONValue.parse($0) })
        }
    }
}
