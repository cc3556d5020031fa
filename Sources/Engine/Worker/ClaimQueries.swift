/// The hot queries of the worker loop, one place each.
enum ClaimQueries {
    /// Claims due runs and leases them in the same statement. `FOR UPDATE SKIP LOCKED` lets any
    /// number of workers share the queue without blocking each other; the partial index `runs_due`
    /// (run_at, non-terminal statuses) makes the scan cheap. For a running run `run_at` is its lease
    /// expiry, so a crashed worker's runs become due again by themselves.
    ///
    /// The claim commits on its own, before any run executes (one extra commit per batch of up to 100 runs), so the
    /// attempt it counts survives a worker that dies while executing. `locked_by` is set by the claim and cleared
    /// when a worker writes the run's result; a claimed run whose lease expired with `locked_by` still set was
    /// being executed by a worker that crashed, hung or lost the database ("stalled"): that claim counts as a new
    /// attempt, and a stalled run with no attempts left fails here instead of taking down another worker.
    /// `now()` rather than `clock_timestamp()` in the scan: it is stable within the statement, so the planner can
    /// bound the `runs_due` index scan with it instead of filtering every parked run (the claim runs in a
    /// transaction of its own, so `now()` is this statement's start).
    /// The claim's own commit does not wait for its WAL flush (`synchronous_commit` off for this transaction
    /// only): the batch's first synchronous commit flushes it too, since WAL is flushed in order. What a
    /// server crash can lose is a claim whose batch never committed anything: the run is then claimed again
    /// as if this claim had not happened, without an attempt counted, which is right for an attempt that
    /// was lost with the server rather than stopped by the run.
    /// The statement lives in `blacklight.claim_runs` (0005_pause_functions.sql) for its planner setting.
    /// `$2` is the batch's fencing token: unique per claim, so a worker that lost a run can no longer write it.
    ///
    /// Paused functions (migration 0005): a due run of a paused function is parked (run_at 'infinity', its due
    /// time kept in parked_run_at) instead of started, and is not returned. `paused` is read only when the claim
    /// found due runs, as one probe of the partial index `functions_paused` (empty unless something is paused),
    /// so an unpaused queue pays nothing measurable. It is read `FOR SHARE`: a resume updates the function's row
    /// first, so a claim that already holds the share lock finishes parking before the resume looks for parked
    /// runs, and a claim that comes later re-reads the row after the resume commits (READ COMMITTED rechecks a
    /// locked row's condition) and starts the run; no run can be parked after its function's resume.
    static let claim = """
        SELECT * FROM blacklight.claim_runs($1::int, $2::text, $3::float8)
        """

    /// The events of claimed runs whose `event` the claim returned NULL. A debounce's ingest moves its run to a newer
    /// event; when it commits after the claim statement took its snapshot but before the claim locked the row,
    /// PostgreSQL re-checks and claims the row's newest version, whose event the statement's snapshot cannot see
    /// (the run ran with an empty `ctx.event`, found by `bench flow`). A statement of its own sees it.
    static let claimedEvents = """
        SELECT r.id, jsonb_build_object('id', e.id, 'name', e.name, 'data', e.data,
                                        'ts', (extract(epoch FROM e.ts) * 1000)::bigint) AS event
        FROM blacklight.runs r JOIN blacklight.events e ON e.id = r.event_id
        WHERE r.id = ANY($1)
        """

    /// Locks the rows of runs a batch still holds at the start of each of its transactions; a run whose
    /// `locked_by` is no longer the batch's token was claimed by another worker and is not returned.
    static let relock = """
        SELECT id FROM blacklight.runs WHERE id = ANY($1::text[]) AND locked_by = $2 AND status = 'running' FOR UPDATE
        """

    /// Run inside the batch transaction just before COMMIT (the rows are locked by it): the runs not executed yet
    /// keep a full lease while the batch is between transactions.
    static let extendLeases = """
        UPDATE blacklight.runs SET run_at = clock_timestamp() + make_interval(secs => $3)
        WHERE id = ANY($1::text[]) AND locked_by = $2
        """

    /// After a batch failed: the runs it claimed but never started go back to the queue at once (no attempt is
    /// counted for them). Runs it had started stay leased, and count an attempt when the lease expires.
    static let releaseUnstarted = """
        UPDATE blacklight.runs SET status = 'queued', locked_by = NULL, run_at = clock_timestamp()
        WHERE id = ANY($1::text[]) AND locked_by = $2 AND status = 'running'
        """

    static let memos = """
        SELECT run_id, key, status, output, wake_at, attempts FROM blacklight.steps WHERE run_id = ANY($1::text[])
        """

    /// Keeps the leases of runs this process holds; skips rows another transaction of ours has locked
    /// (they cannot be claimed while locked anyway), so the heartbeat never blocks.
    static let heartbeat = """
        UPDATE blacklight.runs SET run_at = clock_timestamp() + make_interval(secs => $3)
        WHERE id IN (SELECT r.id FROM blacklight.runs r JOIN unnest($1::text[], $2::text[]) AS h(id, token) ON r.id = h.id
                     WHERE r.status = 'running' AND r.locked_by = h.token
                     FOR UPDATE OF r SKIP LOCKED)
        """

    /// Seconds until the next run this worker could claim (negative: due now; NULL: none). Runs another
    /// worker's open claim transaction holds still show their old, past `run_at` to everyone else;
    /// counting them made an idle worker see work "due now" and retry its claim every 5 ms (about 200
    /// claim transactions a second) for as long as that batch ran. So due rows are read with
    /// `SKIP LOCKED`, and only due rows: the lock costs a transaction id and a WAL flush, and a row not
    /// yet due cannot be held by a claim. Both halves are one step on `runs_due` (`now()` rather than
    /// `clock_timestamp()` so the bound is an Index Cond, not a filter over every parked run). Runs of paused
    /// functions (run_at 'infinity') are never due.
    static let nextDue = """
        SELECT extract(epoch FROM least(
            (SELECT run_at FROM blacklight.runs WHERE status IN ('queued','running','sleeping','waiting') AND run_at <= now()
             ORDER BY run_at LIMIT 1 FOR UPDATE SKIP LOCKED),
            (SELECT run_at FROM blacklight.runs WHERE status IN ('queued','running','sleeping','waiting') AND run_at > now()
               AND run_at < 'infinity' ORDER BY run_at LIMIT 1)
        ) - clock_timestamp())::float8 AS wait
        """

    static let startFailureHandler = """
        INSERT INTO blacklight.runs (id, function_id, version, kind, parent_run_id, event_id, max_attempts)
        SELECT blacklight.ulid(), r.function_id, r.version, 'on_failure', r.id, r.event_id, r.max_attempts
        FROM blacklight.runs r WHERE r.id = $1
        """
}
