/// The SQL of retention, one place for all of it: the chunked deletes `Pruner` loops over and the
/// counts `--dry-run` prints. Every chunk is one short transaction, so ingest (which inserts new rows
/// and never touches the rows deleted here) is not blocked; ended runs are never claimed, so the
/// claim's `SKIP LOCKED` scan does not meet these locks either.
///
/// Form, measured on 1M ended runs with 3 steps and a log line each (PostgreSQL 15, 2 shared cores):
/// - Keyset chunks (`key >= $lower ORDER BY key LIMIT n`, the caller passing the last key deleted)
///   rather than restarting each chunk at the start of the index: a restart walks every index entry
///   the previous chunks left dead (vacuum has not run yet), which grows with each chunk.
/// - Children deleted in the same statement as their runs (one set-based DELETE per table, each a
///   nested loop over the victims on the table's run_id index) so the counts per table come back.
///   The runs' FK cascade triggers still fire per row and find nothing; the cascade alone was ≈25 %
///   faster (0.71–0.85 s against 0.99–1.04 s per 5,000 runs under load) but reports no counts.
/// - `jit = off` for each chunk: the planner's cost estimate for 5,000 victims crosses
///   `jit_above_cost`, and JIT compilation took 187 ms of a 1.2 s chunk for nothing.
/// - `FOR UPDATE ... SKIP LOCKED` on the victims: a run being cancelled or rerun, or an event being
///   replayed, at that moment is skipped for this pass rather than waited for.
/// EXPLAIN of each chunk (in the comments below) shows it walks the index 0003_retention.sql adds.
/// `blacklight bench prune`: 6.1M rows (1M runs) in 325 s, ≈18,800 rows/s, with single-event ingest
/// p99 27.6 ms meanwhile (16.3 ms before).
enum PruneQueries {
    static let liveStatuses = "('queued','running','sleeping','waiting')"

    /// Flow-control state that no longer decides anything (0006, 0008): a throttle or rate-limit slot in the past is
    /// the same as none; a singleton, debounce or batch whose run has ended (or was pruned) no longer holds its key;
    /// a cancel request whose run has ended was applied; a cancel_on of an ended run, or past its timeout, can cancel
    /// nothing (ingest reads every row of an event name, so these must not pile up between runs' retention).
    static let flowState = """
        DELETE FROM blacklight.throttle_state WHERE tat < now();
        DELETE FROM blacklight.rate_limit_state WHERE tat < now();
        DELETE FROM blacklight.singletons s WHERE NOT EXISTS
            (SELECT 1 FROM blacklight.runs r WHERE r.id = s.run_id AND r.status IN \(liveStatuses));
        DELETE FROM blacklight.debounces d WHERE NOT EXISTS
            (SELECT 1 FROM blacklight.runs r WHERE r.id = d.run_id AND r.status = 'queued');
        DELETE FROM blacklight.batches b WHERE NOT EXISTS
            (SELECT 1 FROM blacklight.runs r WHERE r.id = b.run_id AND r.status = 'queued');
        DELETE FROM blacklight.cancel_requests c WHERE NOT EXISTS
            (SELECT 1 FROM blacklight.runs r WHERE r.id = c.run_id AND r.status IN \(liveStatuses));
        DELETE FROM blacklight.cancel_ons c WHERE c.expires_at < now() OR NOT EXISTS
            (SELECT 1 FROM blacklight.runs r WHERE r.id = c.run_id AND r.status IN \(liveStatuses));
        """

    /// A run retention may delete (alias `r`, cutoff `$1`): ended before the cutoff, and not the parent
    /// of a live on_failure run (that run reads its parent's error when it is claimed).
    /// Static text shared by the deletes and the dry-run counts; nothing in it comes from input.
    static let expiredRun = """
        r.status IN ('completed','failed','cancelled') AND r.ended_at < $1
        AND NOT EXISTS (SELECT 1 FROM blacklight.runs c WHERE c.parent_run_id = r.id AND c.status IN \(liveStatuses))
        """

    /// The cutoff and the 24 h dedupe horizon, both from the database clock (one clock for every
    /// process), plus the oldest live run's creation: a `wait_for_event` looks for events received
    /// since its run was created, so no event from then on may go. Ids are ULIDs, ordered by creation.
    /// Per live status the ORDER BY is a backwards step on `runs_status (status, id DESC)` (or, when few
    /// runs are live, a sort of what `runs_due` finds): with one `status = ANY(...) ORDER BY id` the
    /// planner walked `runs_pkey` filtering on status, through every ended run. The second of margin
    /// covers ids minted in the same millisecond as a slightly earlier `created_at`.
    static let horizons = """
        SELECT now() - make_interval(secs => $1) AS cutoff, now() - interval '24 hours' AS dedupe,
               least((SELECT created_at FROM blacklight.runs WHERE status = 'queued' ORDER BY status DESC, id LIMIT 1),
                     (SELECT created_at FROM blacklight.runs WHERE status = 'running' ORDER BY status DESC, id LIMIT 1),
                     (SELECT created_at FROM blacklight.runs WHERE status = 'sleeping' ORDER BY status DESC, id LIMIT 1),
                     (SELECT created_at FROM blacklight.runs WHERE status = 'waiting' ORDER BY status DESC, id LIMIT 1))
               - interval '1 second' AS live_since
        """

    /// $1 cutoff, $2 lower bound of ended_at, $3 chunk size. Walks `runs_ended`:
    /// `Limit -> LockRows -> Nested Loop Anti Join -> Index Scan using runs_ended on runs r
    ///  (Index Cond: ended_at >= ... AND ended_at < $1)`, with `runs_parent` for the anti join and the
    /// children's run_id indexes (steps_pkey, run_logs_run, waits_pkey) for their deletes.
    static let runsChunk = """
        WITH victims AS (
            SELECT r.id, r.ended_at FROM blacklight.runs r
            WHERE r.ended_at >= coalesce($2::timestamptz, '-infinity') AND \(expiredRun)
            ORDER BY r.ended_at LIMIT $3
            FOR UPDATE OF r SKIP LOCKED
        ), steps AS (
            DELETE FROM blacklight.steps s USING victims v WHERE s.run_id = v.id RETURNING 1
        ), logs AS (
            DELETE FROM blacklight.run_logs l USING victims v WHERE l.run_id = v.id RETURNING 1
        ), waits AS (
            DELETE FROM blacklight.waits w USING victims v WHERE w.run_id = v.id RETURNING 1
        ), runs AS (
            DELETE FROM blacklight.runs r USING victims v WHERE r.id = v.id RETURNING r.ended_at
        )
        SELECT (SELECT count(*) FROM runs) AS runs, (SELECT count(*) FROM steps) AS steps,
               (SELECT count(*) FROM logs) AS logs, (SELECT count(*) FROM waits) AS waits,
               (SELECT max(ended_at) FROM runs) AS last
        """

    /// $1 upper bound (the cutoff, or just before the oldest live run), $2 lower bound of received_at,
    /// $3 chunk size. Events no remaining run references, oldest first on `events_received`; deleted
    /// by ctid (`Tid Scan`), which skips a second primary-key lookup.
    /// `OFFSET 0` keeps the NOT EXISTS a per-row SubPlan (an Index Only Scan on `runs_event`, 120 ms for
    /// 5,000 events): without it the planner turned it into a Hash Anti Join over a Seq Scan of every
    /// run and event, 3.7 s per chunk with 1M runs, since just after the runs pass its statistics still
    /// count the runs deleted and expect almost every event to be referenced.
    static let eventsChunk = """
        WITH victims AS (
            SELECT e.ctid AS tid, e.received_at FROM blacklight.events e
            WHERE e.received_at >= coalesce($2::timestamptz, '-infinity') AND e.received_at < $1
              AND NOT EXISTS (SELECT 1 FROM blacklight.runs r WHERE r.event_id = e.id OFFSET 0)
            ORDER BY e.received_at LIMIT $3
            FOR UPDATE OF e SKIP LOCKED
        ), gone AS (
            DELETE FROM blacklight.events e WHERE e.ctid = ANY (ARRAY(SELECT tid FROM victims)) RETURNING e.received_at
        )
        SELECT count(*) AS n, max(received_at) AS last FROM gone
        """

    /// $1 the dedupe horizon (24 h ago), $2 lower bound, $3 chunk size; on `event_ids_received`.
    /// An id older than 24 h no longer deduplicates (ingest overwrites it), so it is dead weight.
    static let eventIDsChunk = """
        WITH victims AS (
            SELECT x.ctid AS tid, x.received_at FROM blacklight.event_ids x
            WHERE x.received_at >= coalesce($2::timestamptz, '-infinity') AND x.received_at < $1
            ORDER BY x.received_at LIMIT $3
            FOR UPDATE SKIP LOCKED
        ), gone AS (
            DELETE FROM blacklight.event_ids x WHERE x.ctid = ANY (ARRAY(SELECT tid FROM victims)) RETURNING x.received_at
        )
        SELECT count(*) AS n, max(received_at) AS last FROM gone
        """

    /// $1 the 24 h horizon, $2 lower bound, $3 chunk size; on `idempotency_created`. Like event ids,
    /// `enqueue_run` treats a key older than 24 h as free.
    static let idempotencyChunk = """
        WITH victims AS (
            SELECT k.ctid AS tid, k.created_at FROM blacklight.idempotency k
            WHERE k.created_at >= coalesce($2::timestamptz, '-infinity') AND k.created_at < $1
            ORDER BY k.created_at LIMIT $3
            FOR UPDATE SKIP LOCKED
        ), gone AS (
            DELETE FROM blacklight.idempotency k WHERE k.ctid = ANY (ARRAY(SELECT tid FROM victims)) RETURNING k.created_at
        )
        SELECT count(*) AS n, max(created_at) AS last FROM gone
        """

    /// $1 cutoff, $2 lower bound of created_at, $3 chunk size. Versions are few (one per save or
    /// deploy), so this scans them. The pin check is a SubPlan (`OFFSET 0` as for events) over that
    /// function's runs (`runs_function`, or a scan of runs when one function owns most of them), so it
    /// must only run for real candidates. The CASE makes the active-version test come first: as two
    /// ANDed conditions the planner applied the runs check first (as an anti join, or as the first
    /// filter), scanning runs every pass for every active version older than the cutoff.
    static let versionsChunk = """
        WITH victims AS (
            SELECT v.ctid AS tid, v.created_at FROM blacklight.function_versions v
            WHERE v.created_at >= coalesce($2::timestamptz, '-infinity') AND \(expiredVersion)
            ORDER BY v.created_at LIMIT $3
            FOR UPDATE OF v SKIP LOCKED
        ), gone AS (
            DELETE FROM blacklight.function_versions v WHERE v.ctid = ANY (ARRAY(SELECT tid FROM victims))
            RETURNING v.created_at
        )
        SELECT count(*) AS n, max(created_at) AS last FROM gone
        """

    /// A version retention may delete (alias `v`, cutoff `$1`): created before the cutoff, not active,
    /// and pinned by no run (after the runs pass, only remaining runs exist).
    static let expiredVersion = """
        v.created_at < $1
        AND CASE WHEN v.hash IS NOT DISTINCT FROM (SELECT f.active_version FROM blacklight.functions f WHERE f.id = v.function_id)
                 THEN false
                 ELSE NOT EXISTS (SELECT 1 FROM blacklight.runs r WHERE r.function_id = v.function_id AND r.version = v.hash OFFSET 0)
            END
        """

    /// What a real run would delete, without deleting: the same predicates, with "no remaining run"
    /// meaning no run outside the runs this pass deletes. $1 cutoff, $2 event bound, $3 dedupe horizon.
    static let dryRunCounts = """
        WITH doomed AS (SELECT r.id FROM blacklight.runs r WHERE \(expiredRun))
        SELECT (SELECT count(*) FROM doomed) AS runs,
               (SELECT count(*) FROM blacklight.steps s JOIN doomed d ON d.id = s.run_id) AS steps,
               (SELECT count(*) FROM blacklight.run_logs l JOIN doomed d ON d.id = l.run_id) AS logs,
               (SELECT count(*) FROM blacklight.waits w JOIN doomed d ON d.id = w.run_id) AS waits,
               (SELECT count(*) FROM blacklight.events e
                WHERE e.received_at < $2
                  AND NOT EXISTS (SELECT 1 FROM blacklight.runs r WHERE r.event_id = e.id
                                  AND NOT EXISTS (SELECT 1 FROM doomed d WHERE d.id = r.id))) AS events,
               (SELECT count(*) FROM blacklight.event_ids x WHERE x.received_at < $3) AS event_ids,
               (SELECT count(*) FROM blacklight.idempotency k WHERE k.created_at < $3) AS idempotency,
               (SELECT count(*) FROM blacklight.function_versions v
                WHERE v.created_at < $1
                  AND NOT EXISTS (SELECT 1 FROM blacklight.functions f WHERE f.id = v.function_id AND f.active_version = v.hash)
                  AND NOT EXISTS (SELECT 1 FROM blacklight.runs r WHERE r.function_id = v.function_id AND r.version = v.hash
                                  AND NOT EXISTS (SELECT 1 FROM doomed d WHERE d.id = r.id))) AS versions
        """
}
