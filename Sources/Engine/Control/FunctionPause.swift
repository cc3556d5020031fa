import Foundation
import PGStore

/// Pause and resume a function: while paused its events are stored and its runs created as usual, but no run of
/// it is claimed; on resume they start, in the order they were due. Runs a worker claimed before the pause
/// committed finish their batch. How the claim stays fast is in `0005_pause_functions.sql`.
public struct FunctionPause {
    public init() {}

    public enum Outcome: Sendable, Equatable {
        case noFunction
        /// `changed` is false when the function already was in that state; `runs` is how many of its runs now
        /// wait for a resume (pause) or were handed back to the queue (resume).
        case done(changed: Bool, runs: Int)
    }

    public func pause(_ id: String, conn: PGConnection) throws -> Outcome {
        try conn.transaction { () throws -> Outcome in
            guard let wasPaused = try lockFunction(id, conn: conn) else { return .noFunction }
            if !wasPaused {
                try conn.exec("UPDATE blacklight.functions SET paused_at = clock_timestamp() WHERE id = $1", [.text(id)])
            }
            // Park what exists now in one statement; the claim parks whatever becomes due later. Running runs
            // are left to finish (their run_at is their lease). SKIP LOCKED: a run a claim holds right now is
            // started or parked by that claim, and waiting for it here deadlocked (measured in PauseTests: the
            // claim, holding the run, waited for this transaction's lock on the function's row).
            try conn.exec("""
                UPDATE blacklight.runs SET parked_run_at = run_at, run_at = 'infinity'
                WHERE id IN (SELECT id FROM blacklight.runs
                             WHERE function_id = $1 AND status IN ('queued','sleeping','waiting') AND run_at < 'infinity'
                             FOR NO KEY UPDATE SKIP LOCKED)
                """, [.text(id)])
            let waiting = try conn.query("""
                SELECT count(*) FROM blacklight.runs WHERE function_id = $1 AND status IN ('queued','running','sleeping','waiting')
                  AND (status <> 'running' OR run_at = 'infinity')
                """, [.text(id)])
            return .done(changed: !wasPaused, runs: Int(waiting.scalar.intValue ?? 0))
        }
    }

    /// Two transactions. The first unpauses: its update of the function's row waits for every claim holding the
    /// row `FOR SHARE` (one parking runs of it), and a claim that comes later re-reads the row after the commit
    /// and starts the runs (see `ClaimQueries.claim`), so once it commits no run of the function is parked any
    /// more. The second puts every parked run back at its due time; it holds no lock on the function's row while
    /// it waits for runs a claim holds (one transaction deadlocked: the claim, holding a run, waited for the row).
    /// Resume again if the second was cut short: parked runs of an unpaused function wait for it.
    public func resume(_ id: String, conn: PGConnection) throws -> Outcome {
        let wasPaused = try conn.transaction { () throws -> Bool? in
            guard let wasPaused = try lockFunction(id, conn: conn) else { return nil }
            if wasPaused {
                try conn.exec("UPDATE blacklight.functions SET paused_at = NULL WHERE id = $1", [.text(id)])
            }
            return wasPaused
        }
        guard let wasPaused else { return .noFunction }
        // Not if it was paused again meanwhile: then its runs stay parked. Idle-priority runs (a replay's) stay parked
        // too: the claims release them into spare capacity, as before the pause.
        let resumed = try conn.exec("""
            UPDATE blacklight.runs SET run_at = coalesce(parked_run_at, clock_timestamp()), parked_run_at = NULL
            WHERE function_id = $1 AND status IN ('queued','running','sleeping','waiting') AND run_at = 'infinity'
              AND NOT idle_priority
              AND NOT EXISTS (SELECT 1 FROM blacklight.functions WHERE id = $1 AND paused_at IS NOT NULL)
            """, [.text(id)])
        try conn.exec("SELECT pg_notify('blacklight_runs', '')")
        return .done(changed: wasPaused, runs: resumed)
    }

    /// Whether the function is paused now, with its row locked until the transaction ends; nil when there is no
    /// such function.
    private func lockFunction(_ id: String, conn: PGConnection) throws -> Bool? {
        let r = try conn.query("SELECT paused_at IS NOT NULL AS paused FROM blacklight.functions WHERE id = $1 FOR NO KEY UPDATE",
                               [.text(id)])
        return r.rows.first.map { $0["paused"].boolValue ?? false }
    }
}
