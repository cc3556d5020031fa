/// The hot queries of the worker loop, one place each.
enum ClaimQueries {
    /// Claims due runs and leases them in the same statement. `FOR UPDATE SKIP LOCKED` lets any
    /// number of workers share the queue without blocking each other; the partial index `runs_due`
    /// (run_at, non-terminal statuses) makes the scan cheap. For a running run `run_at` is its lease
    /// expiry, so a crashed worker's runs become due again by themselves.
    static let claim = """
        WITH due AS (
            SELECT id FROM blacklight.runs
            WHERE status IN ('queued','running','sleeping','waiting') AND run_at <= clock_timestamp()
            ORDER BY run_at
            LIMIT $1
            FOR UPDATE SKIP LOCKED
        )
        UPDATE blacklight.runs r
        SET status = 'running', locked_by = $2, run_at = clock_timestamp() + make_interval(secs => $3),
            started_at = coalesce(r.started_at, clock_timestamp()), ctx_now = coalesce(r.ctx_now, clock_timestamp())
        FROM due WHERE r.id = due.id
        RETURNING r.id, r.function_id, r.version, r.kind, r.parent_run_id, r.attempt, r.max_attempts, r.ctx_now,
                  r.created_at, r.concurrency_key,
                  (SELECT p.error FROM blacklight.runs p WHERE p.id = r.parent_run_id) AS parent_error,
                  (SELECT jsonb_build_object('id', e.id, 'name', e.name, 'data', e.data,
                                             'ts', (extract(epoch FROM e.ts) * 1000)::bigint)
                   FROM blacklight.events e WHERE e.id = r.event_id) AS event
        """

    static let memos = """
        SELECT run_id, key, status, output, wake_at, attempts FROM blacklight.steps WHERE run_id = ANY($1::text[])
        """

    /// Keeps the leases of runs this process holds; skips rows another transaction of ours has locked
    /// (they cannot be claimed while locked anyway), so the heartbeat never blocks.
    static let heartbeat = """
        UPDATE blacklight.runs SET run_at = clock_timestamp() + make_interval(secs => $3)
        WHERE id IN (SELECT id FROM blacklight.runs WHERE id = ANY($1::text[]) AND status = 'running' AND locked_by = $2
                     FOR UPDATE SKIP LOCKED)
        """

    /// Seconds until the next run this worker could claim (negative: due now; NULL: none). Runs another
    /// worker's open claim transaction holds still show their old, past `run_at` to everyone else;
    /// counting them made an idle worker see work "due now" and retry its claim every 5 ms (about 200
    /// claim transactions a second) for as long as that batch ran. So due rows are read with
    /// `SKIP LOCKED`, and only due rows: the lock costs a transaction id and a WAL flush, and a row not
    /// yet due cannot be held by a claim. Both halves are one step on `runs_due` (`now()` rather than
    /// `clock_timestamp()` so the bound is an Index Cond, not a filter over every parked run).
    static let nextDue = """
        SELECT extract(epoch FROM least(
            (SELECT run_at FROM blacklight.runs WHERE status IN ('queued','running','sleeping','waiting') AND run_at <= now()
             ORDER BY run_at LIMIT 1 FOR UPDATE SKIP LOCKED),
            (SELECT run_at FROM blacklight.runs WHERE status IN ('queued','running','sleeping','waiting') AND run_at > now()
             ORDER BY run_at LIMIT 1)
        ) - clock_timestamp())::float8 AS wait
        """

    static let startFailureHandler = """
        INSERT INTO blacklight.runs (id, function_id, version, kind, parent_run_id, event_id, max_attempts)
        SELECT blacklight.ulid(), r.function_id, r.version, 'on_failure', r.id, r.event_id, r.max_attempts
        FROM blacklight.runs r WHERE r.id = $1
        """
}
