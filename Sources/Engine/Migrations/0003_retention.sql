-- Retention (blacklight prune, and the pruner in serve/dev) and per-schedule cron errors.
--
-- Each index below is what one chunked DELETE of Retention/PruneQueries.swift walks; without them
-- every chunk would scan its whole table (EXPLAIN of each chunk query is quoted there).

-- Ended runs, oldest end first. Partial: live runs never match, so the index only grows with history.
CREATE INDEX runs_ended ON blacklight.runs (ended_at) WHERE status IN ('completed','failed','cancelled');

-- "Does a live on_failure run still need this parent?" (it reads the parent's error when claimed).
-- Partial: almost every run has no parent, so the index stays tiny and costs ingest nothing.
CREATE INDEX runs_parent ON blacklight.runs (parent_run_id) WHERE parent_run_id IS NOT NULL;

-- Expired deduplication ids and idempotency keys (24 h), oldest first.
CREATE INDEX event_ids_received ON blacklight.event_ids (received_at);
CREATE INDEX idempotency_created ON blacklight.idempotency (created_at);

-- The last failure of a schedule (a fire that raised, or an expression that no longer parses), kept
-- until its next successful fire, so `schedules list`, the dashboard and /api/schedules can show it.
ALTER TABLE blacklight.schedules ADD COLUMN last_error text, ADD COLUMN last_error_at timestamptz;
