-- Inngest SDK apps (issue 12). An app's functions are ordinary rows of blacklight.functions (config.kind = 'http',
-- versions prefixed 'http-'), so ingest, flow control, cron, pause and the views need nothing new; this table only
-- remembers each app: where it is served, what SDK it runs and when it last synced.
CREATE TABLE blacklight.apps (
    id          text PRIMARY KEY,                -- the SDK's app id (`appname` in the sync request)
    url         text NOT NULL,                   -- the app's serve URL
    sdk         text,                            -- e.g. py:v0.5.19
    framework   text,                            -- e.g. flask
    app_version text,
    functions   int NOT NULL DEFAULT 0,
    synced_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    created_at  timestamptz NOT NULL DEFAULT clock_timestamp()
);
