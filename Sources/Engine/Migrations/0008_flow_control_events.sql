-- Flow control (issue 11, second slice): rate limits, debounce, event batches, cancellation by event, and
-- step.invoke. Like 0006, each is decided in PostgreSQL at ingest (or at a run's end), so it holds across any
-- number of serve and worker processes, and the claim stays as it was: debounce and batches are a run whose
-- `run_at` ingest moves, a rate limit is a run never created, a cancellation is a row update.

-- Rate limit: GCRA per function and key, like throttle_state, but an event over the limit starts no run.
CREATE TABLE blacklight.rate_limit_state (
    function_id text NOT NULL,
    key         text NOT NULL,
    tat         timestamptz NOT NULL,
    PRIMARY KEY (function_id, key)
);

-- Events that started no run of a function that they trigger, and why: `rate_limit` (over the limit) or
-- `debounce` (a later event of the same key replaced this one in the debounced run, `run_id`). Shown on the
-- event's page and in GET /api/events/:id; pruned with the event.
CREATE TABLE blacklight.skips (
    event_id    text NOT NULL REFERENCES blacklight.events (id) ON DELETE CASCADE,
    function_id text NOT NULL,
    reason      text NOT NULL,
    key         text,
    run_id      text,
    at          timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX skips_event ON blacklight.skips (event_id);

-- Debounce: the queued run that holds each key, with the time its first event came (for `timeout`).
CREATE TABLE blacklight.debounces (
    function_id text NOT NULL,
    key         text NOT NULL,
    run_id      text NOT NULL,
    first_at    timestamptz NOT NULL,
    PRIMARY KEY (function_id, key)
);

-- Event batches: the open batch (a queued run) of each key and how many events it holds; the events of a
-- batched run, in order (`ctx.events`).
CREATE TABLE blacklight.batches (
    function_id text NOT NULL,
    key         text NOT NULL,
    run_id      text NOT NULL,
    size        int NOT NULL,
    PRIMARY KEY (function_id, key)
);
CREATE TABLE blacklight.run_events (
    run_id   text NOT NULL REFERENCES blacklight.runs (id) ON DELETE CASCADE,
    seq      int NOT NULL,
    event_id text NOT NULL,
    PRIMARY KEY (run_id, seq)
);
CREATE INDEX run_events_event ON blacklight.run_events (event_id);

-- cancel_on: one row per declared cancellation of each run of a function that declares it, written when the
-- run is created (only such functions pay for it). `expression` is the compiled `match`/`if` over the
-- cancelling event, with the run's triggering event bound as `$event` through `vars`
-- (FlowExpression.jsonPathPredicateOverAsync). Matched at ingest like waits.
CREATE TABLE blacklight.cancel_ons (
    run_id     text NOT NULL REFERENCES blacklight.runs (id) ON DELETE CASCADE,
    event_name text NOT NULL,
    expression jsonpath,
    vars       jsonb NOT NULL,
    expires_at timestamptz
);
CREATE INDEX cancel_ons_event_name ON blacklight.cancel_ons (event_name);
CREATE INDEX cancel_ons_run ON blacklight.cancel_ons (run_id);

-- A cancel of a run that a worker's transaction holds (it is executing it): the cancel does not wait for that
-- batch. The worker sees the request before the run's next step (for functions that can be cancelled by
-- event or singleton) and when it writes the run's state, which then becomes cancelled; a request that
-- commits after that write is applied by the next claim of the run, before any step. No foreign key: its
-- check would take a share lock on the run's row and so wait for the very batch the request must not wait for.
CREATE TABLE blacklight.cancel_requests (
    run_id text PRIMARY KEY,
    error  jsonb NOT NULL,
    at     timestamptz NOT NULL DEFAULT clock_timestamp()
);

-- Waits with an `if` expression (async.data.x == event.data.x), compiled like cancel_on's.
ALTER TABLE blacklight.waits ADD COLUMN expression jsonpath, ADD COLUMN vars jsonb;

-- step.invoke: the child run records the run and step waiting for it; its end resolves that step.
ALTER TABLE blacklight.runs ADD COLUMN invoked_by text, ADD COLUMN invoked_step text;

-- Cancels runs that have not ended, each with its own error. Runs no transaction holds are cancelled now
-- (their waits and cancel_on rows go); a run a worker holds gets a cancel request instead, which the worker
-- honours (see cancel_requests), so the caller (an ingest, most often) never waits for a step to finish.
-- Returns how many runs were cancelled or requested.
CREATE FUNCTION blacklight.cancel_runs(p_ids text[], p_errors jsonb[]) RETURNS int LANGUAGE plpgsql AS $$
DECLARE
    v_done text[];
    v_asked int;
BEGIN
    WITH target AS (
        SELECT r.id, u.err FROM blacklight.runs r
        JOIN (SELECT DISTINCT ON (id) id, err FROM unnest(p_ids, p_errors) AS x(id, err) ORDER BY id) u ON u.id = r.id
        WHERE r.status IN ('queued','running','sleeping','waiting')
        ORDER BY r.id
        FOR NO KEY UPDATE OF r SKIP LOCKED
    ), upd AS (
        UPDATE blacklight.runs r SET status = 'cancelled', ended_at = clock_timestamp(), locked_by = NULL, error = t.err
        FROM target t WHERE r.id = t.id
        RETURNING r.id, r.function_id
    )
    SELECT array_agg(id) INTO v_done FROM upd;
    v_done := coalesce(v_done, '{}');
    DELETE FROM blacklight.waits WHERE run_id = ANY (v_done);
    DELETE FROM blacklight.cancel_ons WHERE run_id = ANY (v_done);
    INSERT INTO blacklight.cancel_requests (run_id, error)
    SELECT DISTINCT ON (u.id) u.id, u.err FROM unnest(p_ids, p_errors) AS u(id, err)
    JOIN blacklight.runs r ON r.id = u.id AND r.status IN ('queued','running','sleeping','waiting')
    WHERE NOT (u.id = ANY (v_done))
    ORDER BY u.id
    ON CONFLICT (run_id) DO NOTHING;
    GET DIAGNOSTICS v_asked = ROW_COUNT;
    IF v_asked > 0 THEN PERFORM pg_notify('blacklight_cancel', ''); END IF;
    RETURN cardinality(v_done) + v_asked;
END $$;

-- The key of a flow-control declaration for an event: the value at its key_path, '' when it declares none.
CREATE FUNCTION blacklight.flow_key(p_decl jsonb, p_data jsonb) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN p_decl ? 'key_path' THEN
        coalesce(p_data #>> ARRAY(SELECT jsonb_array_elements_text(p_decl -> 'key_path')), '') ELSE '' END
$$;

-- Locks, in one global order, the flow-control keys that ingesting these (function, event data) pairs will touch:
-- one transaction-level advisory lock per function, declaration and key (the bigint key space, apart from the
-- (int, int) locks of event names). Without it two multi-event ingests that reach the keys of a debounce, a batch
-- or a throttle in different orders deadlocked (`bench flow`, batches of 10 events on 4 connections). Taken before
-- any key row, by every path (ingest_event, ingest_events, enqueue_run for an invoke), always sorted, so no two
-- transactions can wait on each other's keys.
CREATE FUNCTION blacklight.flow_locks(p_functions text[], p_datas jsonb[]) RETURNS void LANGUAGE sql AS $$
    SELECT pg_advisory_xact_lock(k) FROM (
        SELECT DISTINCT (hashtext(f.id || '/' || d.decl)::bigint << 32) | (hashtext(blacklight.flow_key(f.config -> d.decl, x.data))::bigint & 4294967295) AS k
        FROM unnest(p_functions, p_datas) AS x(function_id, data)
        JOIN blacklight.functions f ON f.id = x.function_id
        CROSS JOIN unnest(ARRAY['rate_limit', 'singleton', 'debounce', 'batch_events', 'throttle']) AS d(decl)
        WHERE f.config ? d.decl
        ORDER BY 1) keys
$$;

-- Moves a queued run's due time; a parked run (its function is paused) keeps run_at 'infinity' and gets the new
-- time as parked_run_at, which resume restores.
CREATE FUNCTION blacklight.set_due(p_run text, p_at timestamptz) RETURNS void LANGUAGE sql AS $$
    UPDATE blacklight.runs SET run_at = CASE WHEN run_at = 'infinity' THEN run_at ELSE p_at END,
                               parked_run_at = CASE WHEN run_at = 'infinity' THEN p_at ELSE parked_run_at END
    WHERE id = p_run
$$;

-- enqueue_run as in 0006, plus rate_limit, debounce, batch_events and cancel_on. Order: idempotency, rate
-- limit, singleton (an event that starts no run takes no key), then the run's due time: debounce or batch
-- (which may hand the event to an existing queued run), else throttle, else priority.
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
    v_first timestamptz;
    v_size int;
    v_max int;
    v_old_event text;
    v_name text;
BEGIN
    SELECT * INTO f FROM blacklight.functions WHERE id = p_function_id AND active_version IS NOT NULL;
    IF NOT FOUND THEN RETURN NULL; END IF;
    p_data := coalesce(p_data, '{}'::jsonb);
    -- A no-op when the ingest took them already (advisory locks are re-entrant within a transaction).
    IF f.config ?| array['rate_limit', 'singleton', 'debounce', 'batch_events', 'throttle'] THEN
        PERFORM blacklight.flow_locks(ARRAY[p_function_id], ARRAY[p_data]);
        -- The time the keys are decided at: after any wait for their locks, so a slot is never given in the past.
        v_now := clock_timestamp();
    END IF;
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

    IF f.config ? 'rate_limit' THEN
        -- GCRA with T = period / limit: an event is let through when, after it, the theoretical arrival time is
        -- at most one period ahead (so at most `limit` per sliding period); otherwise it starts no run.
        v_period := (f.config -> 'rate_limit' ->> 'period')::float8 / (f.config -> 'rate_limit' ->> 'limit')::float8;
        v_key := blacklight.flow_key(f.config -> 'rate_limit', p_data);
        v_tat := NULL;
        INSERT INTO blacklight.rate_limit_state AS t (function_id, key, tat)
        VALUES (p_function_id, v_key, v_now + make_interval(secs => v_period))
        ON CONFLICT (function_id, key) DO UPDATE SET tat = greatest(t.tat, v_now) + make_interval(secs => v_period)
            WHERE greatest(t.tat, v_now) + make_interval(secs => v_period)
                  <= v_now + make_interval(secs => (f.config -> 'rate_limit' ->> 'period')::float8)
        RETURNING tat INTO v_tat;
        IF v_tat IS NULL THEN
            INSERT INTO blacklight.skips (event_id, function_id, reason, key) VALUES (p_event_id, p_function_id, 'rate_limit', v_key);
            RETURN NULL;
        END IF;
    END IF;

    IF f.config ? 'singleton' THEN
        v_key := blacklight.flow_key(f.config -> 'singleton', p_data);
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
                    -- A running step finishes; no further step starts (cancel_runs: a request when a worker holds it).
                    PERFORM blacklight.cancel_runs(ARRAY[v_holder], ARRAY[jsonb_build_object(
                        'message', format('cancelled by run %s, started for the same singleton key', v_run),
                        'cancelled_by', v_run, 'singleton_key', v_key)]);
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

    IF f.config ? 'debounce' THEN
        -- One queued run per key holds the last event; each event moves it `period` later, but never past its
        -- first event + `timeout`. Once a worker has claimed it (status no longer queued: the UPDATE waits for a
        -- claim that holds the row), the next event starts a new debounced run.
        v_key := blacklight.flow_key(f.config -> 'debounce', p_data);
        v_period := (f.config -> 'debounce' ->> 'period')::float8;
        INSERT INTO blacklight.debounces (function_id, key, run_id, first_at) VALUES (p_function_id, v_key, v_run, v_now)
        ON CONFLICT (function_id, key) DO NOTHING RETURNING run_id INTO v_ok;
        IF v_ok IS NULL THEN
            SELECT run_id, first_at INTO v_holder, v_first FROM blacklight.debounces
            WHERE function_id = p_function_id AND key = v_key FOR UPDATE;
            v_run_at := v_now + make_interval(secs => v_period);
            IF f.config -> 'debounce' ? 'timeout' THEN
                v_run_at := least(v_run_at, v_first + make_interval(secs => (f.config -> 'debounce' ->> 'timeout')::float8));
            END IF;
            UPDATE blacklight.runs r SET event_id = p_event_id,
                run_at = CASE WHEN r.run_at = 'infinity' THEN r.run_at ELSE v_run_at END,
                parked_run_at = CASE WHEN r.run_at = 'infinity' THEN v_run_at ELSE r.parked_run_at END
            FROM (SELECT id, event_id FROM blacklight.runs WHERE id = v_holder) old
            WHERE r.id = old.id AND r.status = 'queued' AND r.started_at IS NULL
            RETURNING old.event_id INTO v_old_event;
            IF FOUND THEN
                INSERT INTO blacklight.skips (event_id, function_id, reason, key, run_id)
                VALUES (v_old_event, p_function_id, 'debounce', v_key, v_holder);
                RETURN v_holder;
            END IF;
            UPDATE blacklight.debounces SET run_id = v_run, first_at = v_now WHERE function_id = p_function_id AND key = v_key;
        END IF;
        v_run_at := v_now + make_interval(secs => least(v_period, coalesce((f.config -> 'debounce' ->> 'timeout')::float8, v_period)));
    ELSIF f.config ? 'batch_events' THEN
        -- The open batch of the key takes the event while it is queued and not full; the event that fills it
        -- makes it due now. Otherwise this event opens a new batch, due after `timeout`.
        v_key := blacklight.flow_key(f.config -> 'batch_events', p_data);
        v_max := (f.config -> 'batch_events' ->> 'max_size')::int;
        INSERT INTO blacklight.batches (function_id, key, run_id, size) VALUES (p_function_id, v_key, v_run, 0)
        ON CONFLICT (function_id, key) DO NOTHING RETURNING run_id INTO v_ok;
        IF v_ok IS NULL THEN
            SELECT run_id, size INTO v_holder, v_size FROM blacklight.batches
            WHERE function_id = p_function_id AND key = v_key FOR UPDATE;
            IF v_size < v_max THEN
                PERFORM 1 FROM blacklight.runs WHERE id = v_holder AND status = 'queued' AND started_at IS NULL FOR NO KEY UPDATE;
                IF FOUND THEN
                    INSERT INTO blacklight.run_events (run_id, seq, event_id) VALUES (v_holder, v_size + 1, p_event_id);
                    UPDATE blacklight.batches SET size = v_size + 1 WHERE function_id = p_function_id AND key = v_key;
                    IF v_size + 1 >= v_max THEN PERFORM blacklight.set_due(v_holder, v_now); END IF;
                    RETURN v_holder;
                END IF;
            END IF;
            UPDATE blacklight.batches SET run_id = v_run, size = 0 WHERE function_id = p_function_id AND key = v_key;
        END IF;
        UPDATE blacklight.batches SET size = 1 WHERE function_id = p_function_id AND key = v_key;
        v_run_at := CASE WHEN v_max <= 1 THEN v_now
                         ELSE v_now + make_interval(secs => (f.config -> 'batch_events' ->> 'timeout')::float8) END;
    ELSIF f.config ? 'throttle' THEN
        -- GCRA with an emission interval T = period / limit and a tolerance of burst * T: a run arriving at
        -- `now` starts at max(now, TAT - burst*T) and moves TAT to max(TAT, now) + T.
        v_period := (f.config -> 'throttle' ->> 'period')::float8 / (f.config -> 'throttle' ->> 'limit')::float8;
        v_key := blacklight.flow_key(f.config -> 'throttle', p_data);
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
    IF f.config ? 'batch_events' THEN
        INSERT INTO blacklight.run_events (run_id, seq, event_id) VALUES (v_run, 1, p_event_id);
    END IF;
    IF f.config ? 'cancel_on' THEN
        v_name := (SELECT name FROM blacklight.events WHERE id = p_event_id);
        INSERT INTO blacklight.cancel_ons (run_id, event_name, expression, vars, expires_at)
        SELECT v_run, c ->> 'event', (c ->> 'path')::jsonpath,
               jsonb_build_object('event', jsonb_build_object('id', p_event_id, 'name', v_name, 'data', p_data)),
               v_now + make_interval(secs => (c ->> 'timeout')::float8)
        FROM jsonb_array_elements(f.config -> 'cancel_on') c;
    END IF;
    RETURN v_run;
END $$;

-- Runs cancelled by the events just stored (p_ids, in order): for every cancel_on row of a live run whose
-- event name and expression match one of them, the run is cancelled with the first matching event named.
CREATE FUNCTION blacklight.cancel_by_events(p_ids text[], p_names text[], p_datas jsonb[]) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    v_runs text[];
    v_errors jsonb[];
BEGIN
    WITH ev AS (
        SELECT e.id, e.name, jsonb_build_object('id', e.id, 'name', e.name, 'data', e.data) AS doc
        FROM unnest(p_ids, p_names, p_datas) AS e(id, name, data)
    ), hit AS (
        SELECT DISTINCT ON (c.run_id) c.run_id, ev.id AS event_id, ev.name
        FROM blacklight.cancel_ons c JOIN ev ON c.event_name = ev.name
        WHERE (c.expires_at IS NULL OR c.expires_at > clock_timestamp())
          AND (c.expression IS NULL OR jsonb_path_match(ev.doc, c.expression, c.vars, true))
        ORDER BY c.run_id, ev.id
    )
    SELECT array_agg(run_id ORDER BY run_id),
           array_agg(jsonb_build_object('message', format('cancelled by event %s (%s)', event_id, name),
                                        'cancelled_by_event', event_id) ORDER BY run_id)
    INTO v_runs, v_errors FROM hit;
    IF v_runs IS NOT NULL THEN PERFORM blacklight.cancel_runs(v_runs, v_errors); END IF;
END $$;

-- ingest_event as in 0006, with wait expressions and cancel_on.
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
    PERFORM pg_advisory_xact_lock_shared(1651, hashtext(p_name));
    INSERT INTO blacklight.events (id, name, data, ts, external_id)
    VALUES (v_id, p_name, p_data, coalesce(p_ts, clock_timestamp()), p_external_id);

    PERFORM blacklight.flow_locks(array_agg(tr.function_id), array_agg(p_data))
    FROM blacklight.triggers tr
    WHERE tr.event_name = p_name AND (tr.filter IS NULL OR p_data @> tr.filter)
      AND (tr.expression IS NULL OR jsonb_path_match(jsonb_build_object('name', p_name, 'data', p_data),
                                                     tr.expression, '{}', true));
    FOR t IN SELECT DISTINCT tr.function_id FROM blacklight.triggers tr
             WHERE tr.event_name = p_name AND (tr.filter IS NULL OR p_data @> tr.filter)
               AND (tr.expression IS NULL OR jsonb_path_match(jsonb_build_object('name', p_name, 'data', p_data),
                                                              tr.expression, '{}', true))
             ORDER BY tr.function_id
    LOOP
        PERFORM blacklight.enqueue_run(t.function_id, v_id, p_data);
    END LOOP;

    v_event := jsonb_build_object('id', v_id, 'name', p_name, 'data', p_data,
                                  'ts', (extract(epoch FROM coalesce(p_ts, clock_timestamp())) * 1000)::bigint);
    WITH hit AS (
        DELETE FROM blacklight.waits w
        WHERE w.event_name = p_name AND v_event @> w.match
          AND (w.expression IS NULL OR jsonb_path_match(v_event, w.expression, coalesce(w.vars, '{}'), true))
        RETURNING w.run_id, w.step_key
    ), memo AS (
        UPDATE blacklight.steps s SET status = 'completed', output = v_event, ended_at = clock_timestamp()
        FROM hit WHERE s.run_id = hit.run_id AND s.key = hit.step_key
    )
    UPDATE blacklight.runs r SET status = 'queued', run_at = clock_timestamp()
    FROM hit WHERE r.id = hit.run_id AND r.status = 'waiting';

    IF EXISTS (SELECT 1 FROM blacklight.cancel_ons WHERE event_name = p_name) THEN
        PERFORM blacklight.cancel_by_events(ARRAY[v_id], ARRAY[p_name], ARRAY[p_data]);
    END IF;

    PERFORM pg_notify('blacklight_runs', '');
    RETURN v_id;
END $$;

-- ingest_events as in 0006 (its comment says why nothing is read back), with wait expressions, cancel_on,
-- and rate_limit, debounce, batch_events and cancel_on decided per event by enqueue_run.
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
    WHERE NOT (f.config ?| array['idempotency_path', 'singleton', 'throttle', 'rate_limit', 'debounce', 'batch_events', 'cancel_on'])
    ORDER BY e.id, f.id;

    IF EXISTS (SELECT 1 FROM blacklight.functions
               WHERE active_version IS NOT NULL AND config ?| array['rate_limit', 'singleton', 'debounce', 'batch_events', 'throttle']) THEN
    PERFORM blacklight.flow_locks(array_agg(f.id), array_agg(e.data))
    FROM unnest(v_new, v_new_names, v_new_datas) AS e(id, name, data)
    JOIN LATERAL (SELECT DISTINCT tr.function_id FROM blacklight.triggers tr
                  WHERE tr.event_name = e.name AND (tr.filter IS NULL OR e.data @> tr.filter)
                    AND (tr.expression IS NULL OR jsonb_path_match(jsonb_build_object('name', e.name, 'data', e.data),
                                                                   tr.expression, '{}', true))) t ON true
    JOIN blacklight.functions f ON f.id = t.function_id AND f.active_version IS NOT NULL
    WHERE f.config ?| array['rate_limit', 'singleton', 'debounce', 'batch_events', 'throttle'];
    END IF;

    PERFORM blacklight.enqueue_run(f.id, e.id, e.data)
    FROM unnest(v_new, v_new_names, v_new_datas) AS e(id, name, data)
    JOIN LATERAL (SELECT DISTINCT tr.function_id FROM blacklight.triggers tr
                  WHERE tr.event_name = e.name AND (tr.filter IS NULL OR e.data @> tr.filter)
                    AND (tr.expression IS NULL OR jsonb_path_match(jsonb_build_object('name', e.name, 'data', e.data),
                                                                   tr.expression, '{}', true))) t ON true
    JOIN blacklight.functions f ON f.id = t.function_id AND f.active_version IS NOT NULL
    WHERE f.config ?| array['idempotency_path', 'singleton', 'throttle', 'rate_limit', 'debounce', 'batch_events', 'cancel_on']
    ORDER BY e.id, f.id;

    IF EXISTS (SELECT 1 FROM blacklight.waits w WHERE w.event_name = ANY (p_names)) THEN
        WITH ev AS (
            SELECT e.id, e.name, jsonb_build_object('id', e.id, 'name', e.name, 'data', e.data,
                                                    'ts', (extract(epoch FROM e.ts) * 1000)::bigint) AS doc
            FROM unnest(v_new, v_new_names, v_new_datas, v_new_tss) AS e(id, name, data, ts)
        ), hit AS (
            SELECT DISTINCT ON (w.run_id, w.step_key) w.run_id, w.step_key, ev.doc
            FROM blacklight.waits w JOIN ev ON w.event_name = ev.name AND ev.doc @> w.match
            WHERE w.expression IS NULL OR jsonb_path_match(ev.doc, w.expression, coalesce(w.vars, '{}'), true)
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

    IF EXISTS (SELECT 1 FROM blacklight.cancel_ons c WHERE c.event_name = ANY (p_names)) THEN
        PERFORM blacklight.cancel_by_events(v_new, v_new_names, v_new_datas);
    END IF;

    PERFORM pg_notify('blacklight_runs', '');
    RETURN v_out;
END $$;

-- step.invoke: when an invoked run ends, the step waiting for it in the invoking run is completed with
-- {ok, output} or {ok = false, error} and that run is queued at once. A row trigger whose WHEN is false for
-- every run that was not invoked, so other runs pay a test of one column.
CREATE FUNCTION blacklight.resolve_invoke() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE blacklight.steps SET status = 'completed', ended_at = clock_timestamp(),
        output = CASE WHEN NEW.status = 'completed' THEN jsonb_build_object('ok', true, 'run_id', NEW.id, 'output', NEW.output)
                      ELSE jsonb_build_object('ok', false, 'run_id', NEW.id, 'status', NEW.status,
                                              'error', coalesce(NEW.error, jsonb_build_object('message', NEW.status))) END
    WHERE run_id = NEW.invoked_by AND key = NEW.invoked_step AND status = 'waiting';
    IF FOUND THEN
        UPDATE blacklight.runs SET status = 'queued',
            run_at = CASE WHEN run_at = 'infinity' THEN run_at ELSE clock_timestamp() END,
            parked_run_at = CASE WHEN run_at = 'infinity' THEN clock_timestamp() ELSE parked_run_at END
        WHERE id = NEW.invoked_by AND status = 'waiting';
        PERFORM pg_notify('blacklight_runs', '');
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER runs_resolve_invoke AFTER UPDATE OF status ON blacklight.runs FOR EACH ROW
    WHEN (NEW.invoked_by IS NOT NULL AND NEW.status IN ('completed','failed','cancelled')
          AND OLD.status NOT IN ('completed','failed','cancelled'))
    EXECUTE FUNCTION blacklight.resolve_invoke();

-- Runs at idle priority (a bulk replay's, BulkRuns.Pace.spareCapacity) wait parked like a paused function's:
-- run_at 'infinity', their order in parked_run_at. A claim that finds fewer due runs than its limit releases
-- that many of them (due now, so the next claim takes them), so a replay uses only the capacity new events leave.
ALTER TABLE blacklight.runs ADD COLUMN idle_priority boolean NOT NULL DEFAULT false;
CREATE INDEX runs_idle ON blacklight.runs (parked_run_at) WHERE idle_priority AND run_at = 'infinity' AND status = 'queued';

-- The claim as in 0005, plus cancel requests: a due run with one is cancelled (with the request's error)
-- instead of started. Each run the claim decides on costs one probe of cancel_requests' primary key, which is
-- empty unless a cancel raced a batch. Plus the release of idle-priority runs into the room the claim left
-- (one probe of the partial index runs_idle, empty unless a replay waits).
CREATE OR REPLACE FUNCTION blacklight.claim_runs(p_limit int, p_token text, p_lease float8)
RETURNS TABLE (id text, function_id text, version text, kind text, parent_run_id text, attempt int, max_attempts int,
               ctx_now timestamptz, created_at timestamptz, started_at timestamptz, concurrency_key text, status text,
               stalled boolean, first_start boolean, parent_error jsonb, event jsonb)
LANGUAGE sql VOLATILE SET enable_bitmapscan = off AS $$
WITH paused AS MATERIALIZED (
    SELECT id FROM blacklight.functions WHERE paused_at IS NOT NULL FOR SHARE
), decided AS (
    SELECT id, locked_by IS NOT NULL AS stalled, (locked_by IS NOT NULL AND attempt >= max_attempts) AS poisoned,
           started_at IS NULL AS first_start, function_id IN (SELECT id FROM paused) AS parked,
           (SELECT c.error FROM blacklight.cancel_requests c WHERE c.run_id = runs.id) AS cancel
    FROM blacklight.runs
    WHERE status IN ('queued','running','sleeping','waiting') AND run_at <= now()
    ORDER BY run_at
    LIMIT p_limit
    FOR UPDATE SKIP LOCKED
), park AS (
    UPDATE blacklight.runs r SET parked_run_at = r.run_at, run_at = 'infinity'
    FROM decided d WHERE r.id = d.id AND d.parked AND d.cancel IS NULL
), cancel AS (
    UPDATE blacklight.runs r SET status = 'cancelled', ended_at = clock_timestamp(), locked_by = NULL, error = d.cancel
    FROM decided d WHERE r.id = d.id AND d.cancel IS NOT NULL
), release AS (
    UPDATE blacklight.runs r SET run_at = clock_timestamp()
    WHERE r.id IN (SELECT i.id FROM blacklight.runs i
                   WHERE i.idle_priority AND i.run_at = 'infinity' AND i.status = 'queued'
                     AND i.function_id NOT IN (SELECT id FROM paused)
                   ORDER BY i.parked_run_at
                   LIMIT greatest(0, p_limit - (SELECT count(*) FROM decided))
                   FOR UPDATE SKIP LOCKED)
    RETURNING 1
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
FROM decided d, async_commit WHERE r.id = d.id AND NOT d.parked AND d.cancel IS NULL
RETURNING r.id, r.function_id, r.version, r.kind, r.parent_run_id, r.attempt, r.max_attempts, r.ctx_now,
          r.created_at, r.started_at, r.concurrency_key, r.status, d.stalled, d.first_start,
          (SELECT p.error FROM blacklight.runs p WHERE p.id = r.parent_run_id) AS parent_error,
          (SELECT jsonb_build_object('id', e.id, 'name', e.name, 'data', e.data,
                                     'ts', (extract(epoch FROM e.ts) * 1000)::bigint)
           FROM blacklight.events e WHERE e.id = r.event_id) AS event;
$$;
