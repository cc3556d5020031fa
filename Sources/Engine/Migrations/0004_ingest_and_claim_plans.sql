-- ingest_events read the rows it had just inserted back from blacklight.events with `id = ANY (v_new)`
-- (and looked up dedupe ids with a join). plpgsql caches a generic plan after five calls; planned
-- while the table was small, that plan scans the whole table, so each call grew with the table:
-- `bench engine` (fresh database, 20,000 events in calls of 100) ingested ≈1,200 events/s with the
-- backends at 100 % CPU in texteq under ExecScan/ScalarArrayOp (perf). This version keeps what it
-- inserted in arrays and joins those (no read-back at all), and looks dedupe ids up by key, so no plan
-- can depend on a table's size when it was first cached. Semantics are unchanged (0002_bulk_ingest.sql).
CREATE OR REPLACE FUNCTION blacklight.ingest_events(p_names text[], p_datas jsonb[], p_external_ids text[],
                                         p_tss timestamptz[], p_ids text[])
RETURNS text[] LANGUAGE plpgsql AS $$
DECLARE
    n int := coalesce(array_length(p_names, 1), 0);
    v_ids text[];
    v_out text[];
    v_new text[];
    v_new_names text[];
    v_new_datas jsonb[];
    v_new_tss timestamptz[];
    v_bad int;
BEGIN
    IF n = 0 THEN RETURN '{}'::text[]; END IF;
    SELECT min(i) INTO v_bad FROM generate_series(1, n) i WHERE p_names[i] IS NULL OR btrim(p_names[i]) = '';
    IF v_bad IS NOT NULL THEN
        RAISE EXCEPTION 'event %: name is required', v_bad - 1 USING ERRCODE = '22023';
    END IF;
    SELECT min(i) INTO v_bad FROM generate_series(1, n) i
    WHERE p_datas[i] IS NOT NULL AND jsonb_typeof(p_datas[i]) <> 'object';
    IF v_bad IS NOT NULL THEN
        RAISE EXCEPTION 'event %: data must be a JSON object, got %', v_bad - 1, jsonb_typeof(p_datas[v_bad])
            USING ERRCODE = '22023';
    END IF;

    SELECT array_agg(coalesce(p_ids[i], blacklight.ulid()) ORDER BY i) INTO v_ids FROM generate_series(1, n) i;

    -- Deduplication by client id: the first event of the batch with an id claims it (unless a fresh
    -- claim exists); every event with that id then answers with the claiming event's id.
    IF EXISTS (SELECT 1 FROM unnest(p_external_ids) x WHERE x IS NOT NULL) THEN
        INSERT INTO blacklight.event_ids AS e (external_id, event_id, received_at)
        SELECT DISTINCT ON (p_external_ids[i]) p_external_ids[i], v_ids[i], clock_timestamp()
        FROM generate_series(1, n) i WHERE p_external_ids[i] IS NOT NULL
        ORDER BY p_external_ids[i], i
        ON CONFLICT (external_id) DO UPDATE SET event_id = EXCLUDED.event_id, received_at = EXCLUDED.received_at
            WHERE e.received_at < now() - interval '24 hours';
        SELECT array_agg(coalesce((SELECT x.event_id FROM blacklight.event_ids x WHERE x.external_id = p_external_ids[i]),
                                  v_ids[i]) ORDER BY i) INTO v_out
        FROM generate_series(1, n) i;
    ELSE
        v_out := v_ids;
    END IF;

    -- Shared lock per event name, as in ingest_event (a worker registering a wait takes it exclusively).
    PERFORM pg_advisory_xact_lock_shared(1651, h)
    FROM (SELECT DISTINCT hashtext(nm) AS h FROM unnest(p_names) nm ORDER BY 1) locks;

    WITH ins AS (
        INSERT INTO blacklight.events (id, name, data, ts, external_id)
        SELECT v_ids[i], p_names[i], coalesce(p_datas[i], '{}'::jsonb), coalesce(p_tss[i], clock_timestamp()),
               p_external_ids[i]
        FROM generate_series(1, n) i WHERE v_out[i] = v_ids[i]
        ORDER BY i
        ON CONFLICT (id) DO NOTHING
        RETURNING id, name, data, ts
    )
    SELECT array_agg(id ORDER BY id), array_agg(name ORDER BY id), array_agg(data ORDER BY id), array_agg(ts ORDER BY id)
    INTO v_new, v_new_names, v_new_datas, v_new_tss FROM ins;
    IF v_new IS NULL THEN RETURN v_out; END IF;

    -- Runs of functions without an idempotency key, in one statement.
    INSERT INTO blacklight.runs (id, function_id, version, event_id, max_attempts, concurrency_key)
    SELECT blacklight.ulid(), f.id, f.active_version, e.id, coalesce((f.config ->> 'retries')::int, 3) + 1,
           CASE WHEN f.config ? 'concurrency_key_path' THEN
                    f.id || ':' || coalesce(e.data #>> ARRAY(SELECT jsonb_array_elements_text(f.config -> 'concurrency_key_path')), '')
                WHEN f.config ? 'concurrency_limit' THEN f.id END
    FROM unnest(v_new, v_new_names, v_new_datas) AS e(id, name, data)
    JOIN LATERAL (SELECT DISTINCT tr.function_id FROM blacklight.triggers tr
                  WHERE tr.event_name = e.name AND (tr.filter IS NULL OR e.data @> tr.filter)) t ON true
    JOIN blacklight.functions f ON f.id = t.function_id AND f.active_version IS NOT NULL
    WHERE NOT (f.config ? 'idempotency_path')
    ORDER BY e.id, f.id;

    -- Functions with an idempotency key: enqueue_run decides per event, in event order.
    PERFORM blacklight.enqueue_run(f.id, e.id, e.data)
    FROM unnest(v_new, v_new_names, v_new_datas) AS e(id, name, data)
    JOIN LATERAL (SELECT DISTINCT tr.function_id FROM blacklight.triggers tr
                  WHERE tr.event_name = e.name AND (tr.filter IS NULL OR e.data @> tr.filter)) t ON true
    JOIN blacklight.functions f ON f.id = t.function_id AND f.active_version IS NOT NULL
    WHERE f.config ? 'idempotency_path'
    ORDER BY e.id, f.id;

    -- Waits: only looked at when one exists for these names (the common case has none).
    IF EXISTS (SELECT 1 FROM blacklight.waits w WHERE w.event_name = ANY (p_names)) THEN
        WITH ev AS (
            SELECT e.id, e.name, jsonb_build_object('id', e.id, 'name', e.name, 'data', e.data,
                                                    'ts', (extract(epoch FROM e.ts) * 1000)::bigint) AS doc
            FROM unnest(v_new, v_new_names, v_new_datas, v_new_tss) AS e(id, name, data, ts)
        ), hit AS (
            SELECT DISTINCT ON (w.run_id, w.step_key) w.run_id, w.step_key, ev.doc
            FROM blacklight.waits w JOIN ev ON w.event_name = ev.name AND ev.doc @> w.match
            ORDER BY w.run_id, w.step_key, ev.id
        ), del AS (
            DELETE FROM blacklight.waits w USING hit WHERE w.run_id = hit.run_id AND w.step_key = hit.step_key
        ), memo AS (
            UPDATE blacklight.steps s SET status = 'completed', output = hit.doc, ended_at = clock_timestamp()
            FROM hit WHERE s.run_id = hit.run_id AND s.key = hit.step_key
        )
        UPDATE blacklight.runs r SET status = 'queued', run_at = clock_timestamp()
        FROM hit WHERE r.id = hit.run_id AND r.status = 'waiting';
    END IF;

    PERFORM pg_notify('blacklight_runs', '');
    RETURN v_out;
END $$;

-- The claim (Sources/Engine/Worker/ClaimQueries.swift explains each part) as a function, for one setting:
-- `enable_bitmapscan = off` while it is planned. The scan must walk the partial index runs_due in run_at
-- order and stop after p_limit rows. With statistics that undercount due rows (a queue filled faster than
-- autovacuum analyzes it: `bench engine` with 20,000 runs queued), the planner chose a bitmap scan of
-- every due row plus a sort instead: 64–100 ms per claim with 19,200 rows due (auto_explain), drain
-- ≈1,400–1,900 runs/s against ≈2,200 with bitmap scans off in the same session. A function's SET clause
-- holds while its body is planned and run, and ends with it; nothing else in the session changes.
CREATE FUNCTION blacklight.claim_runs(p_limit int, p_token text, p_lease float8)
RETURNS TABLE (id text, function_id text, version text, kind text, parent_run_id text, attempt int, max_attempts int,
               ctx_now timestamptz, created_at timestamptz, started_at timestamptz, concurrency_key text, status text,
               stalled boolean, first_start boolean, parent_error jsonb, event jsonb)
LANGUAGE sql VOLATILE SET enable_bitmapscan = off AS $$
WITH decided AS (
    SELECT id, locked_by IS NOT NULL AS stalled, (locked_by IS NOT NULL AND attempt >= max_attempts) AS poisoned,
           started_at IS NULL AS first_start
    FROM blacklight.runs
    WHERE status IN ('queued','running','sleeping','waiting') AND run_at <= now()
    ORDER BY run_at
    LIMIT p_limit
    FOR UPDATE SKIP LOCKED
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
FROM decided d, async_commit WHERE r.id = d.id
RETURNING r.id, r.function_id, r.version, r.kind, r.parent_run_id, r.attempt, r.max_attempts, r.ctx_now,
          r.created_at, r.started_at, r.concurrency_key, r.status, d.stalled, d.first_start,
          (SELECT p.error FROM blacklight.runs p WHERE p.id = r.parent_run_id) AS parent_error,
          (SELECT jsonb_build_object('id', e.id, 'name', e.name, 'data', e.data,
                                     'ts', (extract(epoch FROM e.ts) * 1000)::bigint)
           FROM blacklight.events e WHERE e.id = r.event_id) AS event;
$$;
