-- Pausing a function (`blacklight functions pause ID`, POST /api/functions/:id/pause): events are still
-- stored and runs still created, but no run of the function is claimed until it resumes.
--
-- Why parking rather than a filter in the claim: the claim walks `runs_due` in run_at order and stops after
-- its LIMIT. A filter "function not paused" would make every claim step over all due runs of a paused
-- function first (100,000 queued runs of a paused function = 100,000 index entries read per claim, for every
-- worker, for as long as the pause lasts). Instead a paused function's runs are moved out of the way once:
-- their run_at becomes 'infinity' (the end of `runs_due`, never `<= now()`) and the time they were due is
-- kept in parked_run_at. The pause parks the runs that exist (one UPDATE); the claim parks, instead of
-- starting, any run of a paused function it meets later (new events, retries, ended sleeps); resume puts
-- every parked run back at its own time, so they start in their original order, ahead of newer work.
-- While no function is paused the claim pays one probe of the empty partial index below.
ALTER TABLE blacklight.functions ADD COLUMN paused_at timestamptz;
CREATE INDEX functions_paused ON blacklight.functions (id) WHERE paused_at IS NOT NULL;

-- Meaningful only while run_at = 'infinity' (a parked run); stale otherwise, and never read then.
ALTER TABLE blacklight.runs ADD COLUMN parked_run_at timestamptz;

-- The claim (Sources/Engine/Worker/ClaimQueries.swift explains each part) as a function, for one setting:
-- `enable_bitmapscan = off` while it is planned. The scan must walk the partial index runs_due in run_at
-- order and stop after p_limit rows. With statistics that undercount due rows (a queue filled faster than
-- autovacuum analyzes it: `bench engine` with 20,000 runs queued), the planner chose a bitmap scan of
-- every due row plus a sort instead: 64–100 ms per claim with 19,200 rows due (auto_explain), drain
-- ≈1,400–1,900 runs/s against ≈2,200 with bitmap scans off in the same session. A function's SET clause
-- holds while its body is planned and run, and ends with it; nothing else in the session changes.
-- Paused functions: a due run of a paused function is parked instead of started (ClaimQueries.swift says why
-- that is safe).
CREATE FUNCTION blacklight.claim_runs(p_limit int, p_token text, p_lease float8)
RETURNS TABLE (id text, function_id text, version text, kind text, parent_run_id text, attempt int, max_attempts int,
               ctx_now timestamptz, created_at timestamptz, started_at timestamptz, concurrency_key text, status text,
               stalled boolean, first_start boolean, parent_error jsonb, event jsonb)
LANGUAGE sql VOLATILE SET enable_bitmapscan = off AS $$
WITH paused AS MATERIALIZED (
    SELECT id FROM blacklight.functions WHERE paused_at IS NOT NULL FOR SHARE
), decided AS (
    SELECT id, locked_by IS NOT NULL AS stalled, (locked_by IS NOT NULL AND attempt >= max_attempts) AS poisoned,
           started_at IS NULL AS first_start, function_id IN (SELECT id FROM paused) AS parked
    FROM blacklight.runs
    WHERE status IN ('queued','running','sleeping','waiting') AND run_at <= now()
    ORDER BY run_at
    LIMIT p_limit
    FOR UPDATE SKIP LOCKED
), park AS (
    UPDATE blacklight.runs r SET parked_run_at = r.run_at, run_at = 'infinity'
    FROM decided d WHERE r.id = d.id AND d.parked
), async_commit AS (
    SELECT set_config('synchronous_commit', 'off', true)
)
UPDATE blacklight.runs r
SET status = CASE WHEN d.poisoned THEN 'failed' ELSE 'running' END,
    attempt = CASE WHEN d.stalled AND NOT d.poisoned THEN r.attempt + 1 ELSE r.attempt END,
    locked_by = CASE WHEN d.poisoned THEN NULL ELSE p_token END,
    run_at = CASE WHEN d.poisoned THEN clock_timestamp() ELSE clock_timestamp() + make_interval(secs => p_lease) END,
    ended_at = CASE WHEN d.poisoned THEN clock_timestamp() ELSE r.ended_at END,
    error = CASE WHEN d.poisoned THEN jsonb_build_object(
                'message', format('the run stopped its worker (a crash, a hang or a lost database connection) in '
                                  || 'each of its %s attempts; it is failed so that it cannot stop another',
                                  r.max_attempts),
                'stalled', true)
            WHEN d.stalled THEN jsonb_build_object(
                'message', format('attempt %s stopped its worker (a crash, a hang or a lost database connection)',
                                  r.attempt),
                'stalled', true)
            ELSE r.error END,
    started_at = coalesce(r.started_at, clock_timestamp()), ctx_now = coalesce(r.ctx_now, clock_timestamp())
FROM decided d, async_commit WHERE r.id = d.id AND NOT d.parked
RETURNING r.id, r.function_id, r.version, r.kind, r.parent_run_id, r.attempt, r.max_attempts, r.ctx_now,
          r.created_at, r.started_at, r.concurrency_key, r.status, d.stalled, d.first_start,
          (SELECT p.error FROM blacklight.runs p WHERE p.id = r.parent_run_id) AS parent_error,
          (SELECT jsonb_build_object('id', e.id, 'name', e.name, 'data', e.data,
                                     'ts', (extract(epoch FROM e.ts) * 1000)::bigint)
           FROM blacklight.events e WHERE e.id = r.event_id) AS event;
$$;
