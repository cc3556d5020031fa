-- Set-based ingest of many events in one call: the HTTP event API's hot path.
--
-- Why (measured with pgbench on this 2-core machine, PostgreSQL 15, fsync on, every event enqueuing
-- one run): ingest_event is plpgsql that works per event (dedupe insert, event insert, a trigger loop
-- calling enqueue_run, the wait lookup, a NOTIFY). 100 events per transaction through it gave
-- ≈8,400 events/s (4 clients), 1,000 per transaction ≈6,700 events/s (2 clients). This function does
-- the same work once per call with set operations (one statement per table for the whole batch) and
-- takes the event ids from the caller (the server makes ULIDs in Swift, cheaper than blacklight.ulid()
-- per row): 100 per call ≈14,400 events/s, 1,000 per call ≈15,400 events/s. Over HTTP, where the
-- server merges concurrent requests into one call (IngestBatcher), `blacklight bench http` measured
-- ≈20,000–24,000 events/s in requests of 100 (README.md).
-- It does not pay for a lone event: planning its statements costs ≈0.9 ms per call against ≈0.4 ms
-- for ingest_event, which is why the HTTP server batches requests rather than calling it per request.
--
-- Same semantics as ingest_event: name required, data an object (NULL → {}), an external id seen
-- in the last 24 h returns the original event id and creates nothing, functions with an
-- idempotency key go through enqueue_run (their check is per row by nature), waits whose match the
-- event satisfies are resolved, with the first matching event of the batch winning.
-- In addition, an event whose id already exists (a client retrying with the same
-- x-inngest-event-id-seed) is not stored or enqueued again; its id is returned as is.
CREATE FUNCTION blacklight.ingest_events(p_names text[], p_datas jsonb[], p_external_ids text[],
                                         p_tss timestamptz[], p_ids text[])
RETURNS text[] LANGUAGE plpgsql AS $$
DECLARE
    n int := coalesce(array_length(p_names, 1), 0);
    v_ids text[];
    v_out text[];
    v_new text[];
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
        SELECT array_agg(coalesce(x.event_id, v_ids[i]) ORDER BY i) INTO v_out
        FROM generate_series(1, n) i
        LEFT JOIN blacklight.event_ids x ON x.external_id = p_external_ids[i];
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
        RETURNING id
    )
    SELECT array_agg(id) INTO v_new FROM ins;
    IF v_new IS NULL THEN RETURN v_out; END IF;

    -- Runs of functions without an idempotency key, in one statement.
    INSERT INTO blacklight.runs (id, function_id, version, event_id, max_attempts, concurrency_key)
    SELECT blacklight.ulid(), f.id, f.active_version, e.id, coalesce((f.config ->> 'retries')::int, 3) + 1,
           CASE WHEN f.config ? 'concurrency_key_path' THEN
                    f.id || ':' || coalesce(e.data #>> ARRAY(SELECT jsonb_array_elements_text(f.config -> 'concurrency_key_path')), '')
                WHEN f.config ? 'concurrency_limit' THEN f.id END
    FROM blacklight.events e
    JOIN LATERAL (SELECT DISTINCT tr.function_id FROM blacklight.triggers tr
                  WHERE tr.event_name = e.name AND (tr.filter IS NULL OR e.data @> tr.filter)) t ON true
    JOIN blacklight.functions f ON f.id = t.function_id AND f.active_version IS NOT NULL
    WHERE e.id = ANY (v_new) AND NOT (f.config ? 'idempotency_path')
    ORDER BY e.id, f.id;

    -- Functions with an idempotency key: enqueue_run decides per event, in event order.
    PERFORM blacklight.enqueue_run(f.id, e.id, e.data)
    FROM blacklight.events e
    JOIN LATERAL (SELECT DISTINCT tr.function_id FROM blacklight.triggers tr
                  WHERE tr.event_name = e.name AND (tr.filter IS NULL OR e.data @> tr.filter)) t ON true
    JOIN blacklight.functions f ON f.id = t.function_id AND f.active_version IS NOT NULL
    WHERE e.id = ANY (v_new) AND f.config ? 'idempotency_path'
    ORDER BY e.id, f.id;

    -- Waits: only looked at when one exists for these names (the common case has none).
    IF EXISTS (SELECT 1 FROM blacklight.waits w WHERE w.event_name = ANY (p_names)) THEN
        WITH ev AS (
            SELECT e.id, e.name, jsonb_build_object('id', e.id, 'name', e.name, 'data', e.data,
                                                    'ts', (extract(epoch FROM e.ts) * 1000)::bigint) AS doc
            FROM blacklight.events e WHERE e.id = ANY (v_new)
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
