-- Flow control (issue 11, first slice): trigger expressions, priority, singleton and throttle, decided in
-- PostgreSQL at ingest so they hold across any number of serve and worker processes.
--
-- Why at ingest rather than in the claim: the claim (Worker/ClaimQueries.swift) is the drain's hot query and
-- stays byte for byte as it was. Priority and throttle both become a run's `run_at`, which the claim already
-- orders and bounds by: priority moves it earlier by the declared offset, a throttle sets it to the run's
-- start slot. A function that declares neither pays one `?|` / `?` test on its config per run in the
-- set-based insert of ingest_events, nothing in the claim. The alternative, a throttle_state consulted by
-- the claim, would add a join and a row lock per claimed run to every drain, declared or not.
--
-- Expressions arrive compiled to SQL/JSON path by the registry (BlacklightCore FlowExpression+JSONPath) and
-- are read from tables as values: no expression text is ever part of a statement.

-- A trigger's `expression`, compiled; matched with jsonb_path_match against {"name", "data"} of the event.
ALTER TABLE blacklight.triggers ADD COLUMN expression jsonpath;

-- Throttle: per function and key, the GCRA "theoretical arrival time" (the slot after the last one given).
-- Each new run takes the next slot, so runs start in arrival order, `limit` per period plus `burst`, and
-- none is dropped. The row lock of the upsert serializes concurrent ingests of one key.
CREATE TABLE blacklight.throttle_state (
    function_id text NOT NULL,
    key         text NOT NULL,
    tat         timestamptz NOT NULL,
    PRIMARY KEY (function_id, key)
);

-- Singleton: the run that last took each key. It holds the key while it is not finished; the row
-- serializes concurrent ingests of one key.
CREATE TABLE blacklight.singletons (
    function_id text NOT NULL,
    key         text NOT NULL,
    run_id      text NOT NULL,
    PRIMARY KEY (function_id, key)
);

-- The priority offset in seconds for an event: the value of the first branch whose `when` holds
-- (see FlowExpression.jsonPathBranches), a number clamped to -600..600 (in numeric, so no event value
-- can make the cast fail), and 0 when it is not a number.
CREATE FUNCTION blacklight.flow_priority(p_branches jsonb, p_doc jsonb) RETURNS float8 LANGUAGE sql STABLE AS $$
    SELECT coalesce((
        SELECT CASE WHEN jsonb_typeof(v) = 'number' THEN greatest(-600, least(600, (v #>> '{}')::numeric))::float8 END
        FROM jsonb_array_elements(p_branches) WITH ORDINALITY AS b(branch, i)
        CROSS JOIN LATERAL jsonb_path_query_first(p_doc, (b.branch ->> 'value')::jsonpath, '{}', true) AS v
        WHERE b.branch ->> 'when' IS NULL OR jsonb_path_match(p_doc, (b.branch ->> 'when')::jsonpath, '{}', true)
        ORDER BY b.i LIMIT 1), 0)
$$;

-- enqueue_run as in 0001, plus singleton, throttle and priority.
CREATE OR REPLACE FUNCTION blacklight.enqueue_run(p_function_id text, p_event_id text, p_data jsonb)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    f record;
    v_run text := blacklight.ulid();
    v_now timestamptz := clock_timestamp();
    v_run_at timestamptz;
    v_key text;
    v_conc text;
    v_ok text;
    v_holder text;
    v_period float8;
    v_tat timestamptz;
BEGIN
    SELECT * INTO f FROM blacklight.functions WHERE id = p_function_id AND active_version IS NOT NULL;
    IF NOT FOUND THEN RETURN NULL; END IF;
    p_data := coalesce(p_data, '{}'::jsonb);
    IF f.config ? 'idempotency_path' THEN
        v_key := p_data #>> ARRAY(SELECT jsonb_array_elements_text(f.config -> 'idempotency_path'));
        IF v_key IS NOT NULL THEN
            INSERT INTO blacklight.idempotency AS i (function_id, key, run_id, created_at)
            VALUES (p_function_id, v_key, v_run, now())
            ON CONFLICT (function_id, key) DO UPDATE SET run_id = EXCLUDED.run_id, created_at = EXCLUDED.created_at
                WHERE i.created_at < now() - interval '24 hours'
            RETURNING run_id INTO v_ok;
            IF v_ok IS NULL THEN RETURN NULL; END IF;
        END IF;
    END IF;
    IF f.config ? 'concurrency_key_path' THEN
        v_conc := p_function_id || ':' || coalesce(p_data #>> ARRAY(SELECT jsonb_array_elements_text(f.config -> 'concurrency_key_path')), '');
    ELSIF f.config ? 'concurrency_limit' THEN
        v_conc := p_function_id;
    END IF;

    IF f.config ? 'singleton' THEN
        v_key := CASE WHEN f.config -> 'singleton' ? 'key_path' THEN
                     coalesce(p_data #>> ARRAY(SELECT jsonb_array_elements_text(f.config -> 'singleton' -> 'key_path')), '')
                 ELSE '' END;
        INSERT INTO blacklight.singletons (function_id, key, run_id) VALUES (p_function_id, v_key, v_run)
        ON CONFLICT (function_id, key) DO NOTHING RETURNING run_id INTO v_ok;
        IF v_ok IS NULL THEN
            -- The key was taken before: lock its row, then (a new statement, so a new snapshot under READ
            -- COMMITTED) see whether its run is still unfinished, including a run committed by a concurrent
            -- ingest while this one waited for the lock.
            SELECT run_id INTO v_holder FROM blacklight.singletons
            WHERE function_id = p_function_id AND key = v_key FOR UPDATE;
            IF EXISTS (SELECT 1 FROM blacklight.runs WHERE id = v_holder AND status IN ('queued','running','sleeping','waiting')) THEN
                IF f.config -> 'singleton' ->> 'mode' = 'cancel' THEN
                    -- As a cancel from the API: a running step finishes (this waits for its batch to commit), no
                    -- further step starts (the claim skips cancelled runs, the batch does not overwrite them).
                    UPDATE blacklight.runs SET status = 'cancelled', ended_at = clock_timestamp(), locked_by = NULL,
                        error = jsonb_build_object('message', format('cancelled by run %s, started for the same singleton key', v_run),
                                                   'cancelled_by', v_run, 'singleton_key', v_key)
                    WHERE id = v_holder AND status IN ('queued','running','sleeping','waiting');
                    DELETE FROM blacklight.waits WHERE run_id = v_holder;
                ELSE
                    -- Skipped: recorded as a cancelled run that never started, with the reason, so the run listing
                    -- and the API show it.
                    INSERT INTO blacklight.runs (id, function_id, version, event_id, max_attempts, status, ended_at, error)
                    VALUES (v_run, p_function_id, f.active_version, p_event_id, coalesce((f.config ->> 'retries')::int, 3) + 1,
                            'cancelled', v_now,
                            jsonb_build_object('message', format('skipped: run %s holds the singleton key', v_holder),
                                               'skipped', 'singleton', 'singleton_key', v_key, 'held_by', v_holder));
                    RETURN v_run;
                END IF;
            END IF;
            UPDATE blacklight.singletons SET run_id = v_run WHERE function_id = p_function_id AND key = v_key;
        END IF;
    END IF;

    IF f.config ? 'throttle' THEN
        -- GCRA with an emission interval T = period / limit and a tolerance of burst * T: a run arriving at
        -- `now` starts at max(now, TAT - burst*T) and moves TAT to max(TAT, now) + T.
        v_period := (f.config -> 'throttle' ->> 'period')::float8 / (f.config -> 'throttle' ->> 'limit')::float8;
        v_key := CASE WHEN f.config -> 'throttle' ? 'key_path' THEN
                     coalesce(p_data #>> ARRAY(SELECT jsonb_array_elements_text(f.config -> 'throttle' -> 'key_path')), '')
                 ELSE '' END;
        INSERT INTO blacklight.throttle_state AS t (function_id, key, tat)
        VALUES (p_function_id, v_key, v_now + make_interval(secs => v_period))
        ON CONFLICT (function_id, key) DO UPDATE SET tat = greatest(t.tat, v_now) + make_interval(secs => v_period)
        RETURNING tat INTO v_tat;
        v_run_at := greatest(v_now, v_tat - make_interval(secs => v_period * (1 + coalesce((f.config -> 'throttle' ->> 'burst')::float8, 0))));
    ELSIF f.config ? 'priority' THEN
        v_run_at := v_now - make_interval(secs => blacklight.flow_priority(f.config -> 'priority' -> 'branches',
            jsonb_build_object('name', (SELECT name FROM blacklight.events WHERE id = p_event_id), 'data', p_data)));
    ELSE
        v_run_at := v_now;
    END IF;

    INSERT INTO blacklight.runs (id, function_id, version, event_id, max_attempts, concurrency_key, run_at)
    VALUES (v_run, p_function_id, f.active_version, p_event_id,
            coalesce((f.config ->> 'retries')::int, 3) + 1, v_conc, v_run_at);
    RETURN v_run;
END $$;

-- ingest_event as in 0001, with trigger expressions.
CREATE OR REPLACE FUNCTION blacklight.ingest_event(p_name text, p_data jsonb, p_external_id text DEFAULT NULL,
                                        p_ts timestamptz DEFAULT NULL, p_id text DEFAULT NULL)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    v_id text := coalesce(p_id, blacklight.ulid());
    v_existing text;
    v_event jsonb;
    t record;
BEGIN
    IF p_name IS NULL OR btrim(p_name) = '' THEN
        RAISE EXCEPTION 'event name is required' USING ERRCODE = '22023';
    END IF;
    p_data := coalesce(p_data, '{}'::jsonb);
    IF jsonb_typeof(p_data) <> 'object' THEN
        RAISE EXCEPTION 'event data must be a JSON object, got %', jsonb_typeof(p_data) USING ERRCODE = '22023';
    END IF;
    IF p_external_id IS NOT NULL THEN
        INSERT INTO blacklight.event_ids AS e (external_id, event_id, received_at)
        VALUES (p_external_id, v_id, clock_timestamp())
        ON CONFLICT (external_id) DO UPDATE SET event_id = EXCLUDED.event_id, received_at = EXCLUDED.received_at
            WHERE e.received_at < now() - interval '24 hours'
        RETURNING event_id INTO v_existing;
        IF v_existing IS NULL THEN
            SELECT event_id INTO v_existing FROM blacklight.event_ids WHERE external_id = p_external_id;
            RETURN v_existing;
        END IF;
    END IF;
    -- Shared lock per event name: a worker registering a wait takes it exclusively, so either the
    -- wait is committed before this event looks for waits, or the worker sees this event.
    PERFORM pg_advisory_xact_lock_shared(1651, hashtext(p_name));
    INSERT INTO blacklight.events (id, name, data, ts, external_id)
    VALUES (v_id, p_name, p_data, coalesce(p_ts, clock_timestamp()), p_external_id);

    FOR t IN SELECT DISTINCT tr.function_id FROM blacklight.triggers tr
             WHERE tr.event_name = p_name AND (tr.filter IS NULL OR p_data @> tr.filter)
               AND (tr.expression IS NULL OR jsonb_path_match(jsonb_build_object('name', p_name, 'data', p_data),
                                                              tr.expression, '{}', true))
    LOOP
        PERFORM blacklight.enqueue_run(t.function_id, v_id, p_data);
    END LOOP;

    v_event := jsonb_build_object('id', v_id, 'name', p_name, 'data', p_data,
                                  'ts', (extract(epoch FROM coalesce(p_ts, clock_timestamp())) * 1000)::bigint);
    WITH hit AS (
        DELETE FROM blacklight.waits w
        WHERE w.event_name = p_name AND v_event @> w.match
        RETURNING w.run_id, w.step_key
    ), memo AS (
        UPDATE blacklight.steps s SET status = 'completed', output = v_event, ended_at = clock_timestamp()
        FROM hit WHERE s.run_id = hit.run_id AND s.key = hit.step_key
    )
    UPDATE blacklight.runs r SET status = 'queued', run_at = clock_timestamp()
    FROM hit WHERE r.id = hit.run_id AND r.status = 'waiting';

    PERFORM pg_notify('blacklight_runs', '');
    RETURN v_id;
END $$;

-- ingest_events read the rows it had just inserted back from blacklight.events with `id = ANY (v_new)`
-- (and looked up dedupe ids with a join). plpgsql caches a generic plan after five calls; planned
-- while the table was small, that plan scans the whole table, so each call grew with the table:
-- `bench engine` (fresh database, 20,000 events in calls of 100) ingested ≈1,200 events/s with the
-- backends at 100 % CPU in texteq under ExecScan/ScalarArrayOp (perf). ingest_events below keeps what it
-- inserted in arrays and joins those (no read-back at all), and looks dedupe ids up by key, so no plan
-- can depend on a table's size when it was first cached. Semantics are those of 0002_bulk_ingest.sql,
-- plus trigger expressions, priority in the set-based insert, and singleton and throttle functions decided
-- per event by enqueue_run.
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

    -- Runs of functions that decide nothing per event, in one statement (priority is computed here, set-based).
    INSERT INTO blacklight.runs (id, function_id, version, event_id, max_attempts, concurrency_key, run_at)
    SELECT blacklight.ulid(), f.id, f.active_version, e.id, coalesce((f.config ->> 'retries')::int, 3) + 1,
           CASE WHEN f.config ? 'concurrency_key_path' THEN
                    f.id || ':' || coalesce(e.data #>> ARRAY(SELECT jsonb_array_elements_text(f.config -> 'concurrency_key_path')), '')
                WHEN f.config ? 'concurrency_limit' THEN f.id END,
           CASE WHEN f.config ? 'priority' THEN
                    clock_timestamp() - make_interval(secs => blacklight.flow_priority(f.config -> 'priority' -> 'branches',
                                                                    jsonb_build_object('name', e.name, 'data', e.data)))
                ELSE clock_timestamp() END
    FROM unnest(v_new, v_new_names, v_new_datas) AS e(id, name, data)
    JOIN LATERAL (SELECT DISTINCT tr.function_id FROM blacklight.triggers tr
                  WHERE tr.event_name = e.name AND (tr.filter IS NULL OR e.data @> tr.filter)
                    AND (tr.expression IS NULL OR jsonb_path_match(jsonb_build_object('name', e.name, 'data', e.data),
                                                                   tr.expression, '{}', true))) t ON true
    JOIN blacklight.functions f ON f.id = t.function_id AND f.active_version IS NOT NULL
    WHERE NOT (f.config ?| array['idempotency_path', 'singleton', 'throttle'])
    ORDER BY e.id, f.id;

    -- Functions with an idempotency key, a singleton or a throttle: enqueue_run decides per event, in event order
    -- (each holds a row per key that serializes concurrent ingests).
    PERFORM blacklight.enqueue_run(f.id, e.id, e.data)
    FROM unnest(v_new, v_new_names, v_new_datas) AS e(id, name, data)
    JOIN LATERAL (SELECT DISTINCT tr.function_id FROM blacklight.triggers tr
                  WHERE tr.event_name = e.name AND (tr.filter IS NULL OR e.data @> tr.filter)
                    AND (tr.expression IS NULL OR jsonb_path_match(jsonb_build_object('name', e.name, 'data', e.data),
                                                                   tr.expression, '{}', true))) t ON true
    JOIN blacklight.functions f ON f.id = t.function_id AND f.active_version IS NOT NULL
    WHERE f.config ?| array['idempotency_path', 'singleton', 'throttle']
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
