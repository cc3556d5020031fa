-- Blacklight engine schema. Everything the engine owns lives in the `blacklight` schema; the app's
-- tables live wherever the app puts them.
CREATE SCHEMA IF NOT EXISTS blacklight;

-- ULIDs: time-ordered, so ids sort by creation and `ORDER BY id` is a time order for free.
CREATE FUNCTION blacklight.ulid() RETURNS text LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    alphabet constant text := '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
    ms bigint := floor(extract(epoch FROM clock_timestamp()) * 1000);
    rnd bytea := decode(replace(gen_random_uuid()::text, '-', ''), 'hex');
    out text := '';
    i int;
    acc bigint;
BEGIN
    FOR i IN REVERSE 9..0 LOOP
        out := out || substr(alphabet, ((ms >> (i * 5)) & 31)::int + 1, 1);
    END LOOP;
    -- 80 random bits from 10 bytes, 5 bits at a time (two 40-bit halves fit a bigint).
    acc := 0;
    FOR i IN 0..4 LOOP acc := (acc << 8) | get_byte(rnd, i); END LOOP;
    FOR i IN REVERSE 7..0 LOOP out := out || substr(alphabet, ((acc >> (i * 5)) & 31)::int + 1, 1); END LOOP;
    acc := 0;
    FOR i IN 5..9 LOOP acc := (acc << 8) | get_byte(rnd, i); END LOOP;
    FOR i IN REVERSE 7..0 LOOP out := out || substr(alphabet, ((acc >> (i * 5)) & 31)::int + 1, 1); END LOOP;
    RETURN out;
END $$;

-- Functions and their immutable versions. A version is a script plus the plugins it required,
-- hashed; runs are pinned to the hash they started on.
CREATE TABLE blacklight.functions (
    id             text PRIMARY KEY,
    name           text NOT NULL,
    file           text NOT NULL,
    active_version text,                        -- NULL once the script is deleted (retired)
    config         jsonb NOT NULL,              -- triggers, retries, concurrency, idempotency, ...
    deployed_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE blacklight.function_versions (
    function_id text NOT NULL,
    hash        text NOT NULL,
    file        text NOT NULL,
    source      text NOT NULL,
    plugins     jsonb NOT NULL DEFAULT '{}',     -- {"module": "source"} required at load time
    config      jsonb NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (function_id, hash)
);

-- Event triggers of the active versions, rebuilt whenever a version becomes active.
CREATE TABLE blacklight.triggers (
    function_id text NOT NULL REFERENCES blacklight.functions (id) ON DELETE CASCADE,
    event_name  text NOT NULL,
    filter      jsonb                            -- event data must contain this (jsonb @>)
);
CREATE INDEX triggers_event_name ON blacklight.triggers (event_name);

-- Scripts that failed to compile or validate, kept until a good save clears them.
CREATE TABLE blacklight.load_errors (
    file       text PRIMARY KEY,
    message    text NOT NULL,
    line       int,
    at         timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE blacklight.events (
    id          text PRIMARY KEY,
    name        text NOT NULL,
    data        jsonb NOT NULL,
    ts          timestamptz NOT NULL,
    received_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    external_id text
);
CREATE INDEX events_name_received ON blacklight.events (name, received_at);
CREATE INDEX events_received ON blacklight.events (received_at);

-- Client-supplied event ids seen in the last 24 h (deduplication).
CREATE TABLE blacklight.event_ids (
    external_id text PRIMARY KEY,
    event_id    text NOT NULL,
    received_at timestamptz NOT NULL
);

CREATE TABLE blacklight.runs (
    id              text PRIMARY KEY,
    function_id     text NOT NULL,
    version         text NOT NULL,
    kind            text NOT NULL DEFAULT 'run',     -- 'run' or 'on_failure'
    parent_run_id   text,                            -- the failed run an on_failure run handles
    event_id        text,
    status          text NOT NULL DEFAULT 'queued'
                    CHECK (status IN ('queued','running','sleeping','waiting','completed','failed','cancelled')),
    attempt         int NOT NULL DEFAULT 1,          -- 1-based number of the current attempt
    max_attempts    int NOT NULL,
    -- When the run may next be claimed. For a running run it is the lease expiry, kept fresh by the
    -- owner's heartbeat, so one partial index answers "what is due" for every status.
    run_at          timestamptz NOT NULL DEFAULT clock_timestamp(),
    locked_by       text,
    ctx_now         timestamptz,
    concurrency_key text,
    output          jsonb,
    error           jsonb,
    created_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    started_at      timestamptz,
    ended_at        timestamptz
);
CREATE INDEX runs_due ON blacklight.runs (run_at) WHERE status IN ('queued','running','sleeping','waiting');
CREATE INDEX runs_function ON blacklight.runs (function_id, id DESC);
CREATE INDEX runs_event ON blacklight.runs (event_id);
CREATE INDEX runs_status ON blacklight.runs (status, id DESC);

-- Step memos and the step timeline. A row with status 'completed' is the memo replayed on re-execution.
CREATE TABLE blacklight.steps (
    run_id      text NOT NULL REFERENCES blacklight.runs (id) ON DELETE CASCADE,
    key         text NOT NULL,
    seq         int NOT NULL,
    kind        text NOT NULL,                   -- run, sleep, wait, send, invoke
    status      text NOT NULL,                   -- completed, failed, sleeping, waiting
    output      jsonb,
    error       jsonb,
    attempts    int NOT NULL DEFAULT 1,
    started_at  timestamptz,
    ended_at    timestamptz,
    wake_at     timestamptz,
    PRIMARY KEY (run_id, key)
);

CREATE TABLE blacklight.waits (
    run_id      text NOT NULL REFERENCES blacklight.runs (id) ON DELETE CASCADE,
    step_key    text NOT NULL,
    event_name  text NOT NULL,
    match       jsonb NOT NULL DEFAULT '{}',     -- the awaited event ({name,data}) must contain this
    after       timestamptz NOT NULL,            -- events received since then count
    expires_at  timestamptz NOT NULL,
    PRIMARY KEY (run_id, step_key)
);
CREATE INDEX waits_event_name ON blacklight.waits (event_name);

CREATE TABLE blacklight.run_logs (
    run_id  text NOT NULL REFERENCES blacklight.runs (id) ON DELETE CASCADE,
    at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    level   text NOT NULL,
    message text NOT NULL
);
CREATE INDEX run_logs_run ON blacklight.run_logs (run_id, at);

CREATE TABLE blacklight.idempotency (
    function_id text NOT NULL,
    key         text NOT NULL,
    run_id      text NOT NULL,
    created_at  timestamptz NOT NULL,
    PRIMARY KEY (function_id, key)
);

-- Cron schedules: one row per cron trigger of an active function, or per schedule created at run time.
-- A tick fires when an UPDATE moves last_tick forward; the row lock and the comparison make that
-- succeed in exactly one process (graphile-worker's known_crontabs idea).
CREATE TABLE blacklight.schedules (
    id          text PRIMARY KEY,               -- 'fn:<function>:<n>' or 'user:<name>'
    function_id text,                           -- a function's cron trigger
    expression  text NOT NULL,
    timezone    text,
    jitter      double precision NOT NULL DEFAULT 0,
    event_name  text,                           -- a run-time schedule sends this event
    event_data  jsonb,
    last_tick   timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- Enqueue one run of a function's active version for an event. Honors idempotency (24 h).
CREATE FUNCTION blacklight.enqueue_run(p_function_id text, p_event_id text, p_data jsonb)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    f record;
    v_run text := blacklight.ulid();
    v_key text;
    v_conc text;
    v_ok text;
BEGIN
    SELECT * INTO f FROM blacklight.functions WHERE id = p_function_id AND active_version IS NOT NULL;
    IF NOT FOUND THEN RETURN NULL; END IF;
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
    INSERT INTO blacklight.runs (id, function_id, version, event_id, max_attempts, concurrency_key)
    VALUES (v_run, p_function_id, f.active_version, p_event_id,
            coalesce((f.config ->> 'retries')::int, 3) + 1, v_conc);
    RETURN v_run;
END $$;

-- Store an event and start everything it triggers, in the caller's transaction: the app can call
-- this inside its own transactions, so an event exists exactly when the app's change committed.
CREATE FUNCTION blacklight.ingest_event(p_name text, p_data jsonb, p_external_id text DEFAULT NULL,
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

-- The app-facing form named in the docs.
CREATE FUNCTION blacklight.send_event(name text, data jsonb) RETURNS text
LANGUAGE sql AS $$ SELECT blacklight.ingest_event(name, data) $$;
