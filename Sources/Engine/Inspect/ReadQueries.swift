import BlacklightCore
import Foundation
import PGStore

/// The reads of the REST API and the dashboard (and the CLI's listings), kept in Engine so neither the HTTP layer
/// nor the CLI holds SQL of its own on `blacklight.*`. PostgreSQL builds the JSON (jsonb_build_object / jsonb_agg), so a page of
/// runs is one statement and one string, with no row-by-row work in Swift.
public struct ReadQueries: Sendable {
    public init() {}

    public struct RunFilter: Sendable {
        public var function: String?
        public var status: [String]?
        public var eventName: String?
        public var eventID: String?
        public var since: Date?
        public var until: Date?
        /// Runs with ids below this one (ids are ULIDs, so this is "older than").
        public var cursor: String?
        public var limit = 50

        public init() {}

        /// The filters as checked by `RunFilter.parse` (the same for the list and the bulk actions).
        public init(_ f: Engine.RunFilter) {
            function = f.function
            status = f.statuses?.map(\.rawValue)
            eventName = f.eventName
            eventID = f.eventID
            since = f.since
            until = f.until
        }
    }

    /// `waiting_for` says why a run that has not ended is not executing beyond its status: `paused` while its
    /// function is paused; for a run that has not started yet and is due later, `batching` (its batch is open),
    /// `debounced` (it waits for a quiet period) or `throttled` (it waits for its throttle slot); `spare capacity` for a
    /// bulk replay's run waiting for room beside new events. A parked run's
    /// run_at is 'infinity' in the table; the time it was due is shown.
    static let runColumns = """
        r.id, r.function_id, r.status, r.attempt, r.max_attempts, r.version, r.kind, r.parent_run_id, r.event_id,
        e.name AS event_name, r.created_at, r.started_at, r.ended_at,
        CASE WHEN r.run_at = 'infinity' THEN r.parked_run_at ELSE r.run_at END AS run_at,
        CASE WHEN r.status IN ('queued','sleeping','waiting') OR (r.status = 'running' AND r.run_at = 'infinity') THEN
            coalesce((SELECT 'paused' FROM blacklight.functions pf WHERE pf.id = r.function_id AND pf.paused_at IS NOT NULL),
                     CASE WHEN r.idle_priority AND r.run_at = 'infinity' THEN 'spare capacity' END,
                     CASE WHEN r.status = 'queued' AND r.started_at IS NULL AND r.run_at > now() THEN
                         coalesce((SELECT 'batching' FROM blacklight.batches b WHERE b.run_id = r.id LIMIT 1),
                                  (SELECT 'debounced' FROM blacklight.debounces d WHERE d.run_id = r.id LIMIT 1),
                                  (SELECT 'throttled' FROM blacklight.functions tf WHERE tf.id = r.function_id AND tf.config ? 'throttle'))
                     END)
        END AS waiting_for,
        round((extract(epoch FROM (r.ended_at - r.created_at)) * 1000)::numeric, 3) AS duration_ms
        """

    /// `{"runs": [...], "next_cursor": id|null}`, newest first.
    public func runs(_ f: RunFilter, conn: PGConnection) throws -> String {
        let r = try conn.query("""
            WITH page AS (
                SELECT \(Self.runColumns)
                FROM blacklight.runs r LEFT JOIN blacklight.events e ON e.id = r.event_id
                WHERE ($1::text IS NULL OR r.function_id = $1) AND ($2::text[] IS NULL OR r.status = ANY ($2::text[]))
                  AND ($3::text IS NULL OR e.name = $3) AND ($4::text IS NULL OR r.event_id = $4)
                  AND ($5::timestamptz IS NULL OR r.created_at >= $5) AND ($6::timestamptz IS NULL OR r.created_at < $6)
                  AND ($7::text IS NULL OR r.id < $7)
                ORDER BY r.id DESC LIMIT $8
            )
            SELECT jsonb_build_object(
                'runs', coalesce((SELECT jsonb_agg(to_jsonb(p) ORDER BY p.id DESC) FROM page p), '[]'::jsonb),
                'next_cursor', CASE WHEN (SELECT count(*) FROM page) = $8 THEN (SELECT min(id) FROM page) END)::text
            """, [
                f.function.map { .text($0) } ?? .null, f.status.map { .array($0.map { .text($0) }) } ?? .null,
                f.eventName.map { .text($0) } ?? .null, f.eventID.map { .text($0) } ?? .null,
                f.since.map { .timestamp($0) } ?? .null, f.until.map { .timestamp($0) } ?? .null,
                f.cursor.map { .text($0) } ?? .null, .int(Int64(f.limit)),
            ])
        return r.scalar.stringValue ?? "{}"
    }

    /// One run with its steps (attempts, outputs, errors, timings), waits, logs, event and function.
    public func run(_ id: String, conn: PGConnection) throws -> String? {
        let r = try conn.query("""
            WITH x AS (
                SELECT \(Self.runColumns) FROM blacklight.runs r LEFT JOIN blacklight.events e ON e.id = r.event_id
                WHERE r.id = $1
            )
            SELECT (to_jsonb(x) || jsonb_build_object(
                'output', r.output, 'error', r.error, 'ctx_now', r.ctx_now, 'locked_by', r.locked_by,
                'concurrency_key', r.concurrency_key,
                'event', (SELECT jsonb_build_object('id', e.id, 'name', e.name, 'data', e.data, 'ts', e.ts,
                                                    'received_at', e.received_at, 'external_id', e.external_id)
                          FROM blacklight.events e WHERE e.id = r.event_id),
                'steps', coalesce((
                    SELECT jsonb_agg(jsonb_build_object(
                        'id', s.key, 'seq', s.seq, 'kind', s.kind, 'status', s.status, 'attempts', s.attempts,
                        'output', s.output, 'error', s.error, 'started_at', s.started_at, 'ended_at', s.ended_at,
                        'wake_at', s.wake_at,
                        'offset_ms', round((extract(epoch FROM (s.started_at - r.created_at)) * 1000)::numeric, 3),
                        'duration_ms', round((extract(epoch FROM (s.ended_at - s.started_at)) * 1000)::numeric, 3),
                        'wait', (SELECT jsonb_build_object('event', w.event_name, 'match', w.match, 'expires_at', w.expires_at)
                                 FROM blacklight.waits w WHERE w.run_id = s.run_id AND w.step_key = s.key))
                        ORDER BY s.seq, s.started_at NULLS LAST, s.key)
                    FROM blacklight.steps s WHERE s.run_id = r.id), '[]'::jsonb),
                'logs', coalesce((SELECT jsonb_agg(jsonb_build_object('at', l.at, 'level', l.level, 'message', l.message)
                                                   ORDER BY l.at)
                                  FROM blacklight.run_logs l WHERE l.run_id = r.id), '[]'::jsonb),
                'related_runs', coalesce((SELECT jsonb_agg(jsonb_build_object('id', o.id, 'kind', o.kind, 'status', o.status) ORDER BY o.id)
                                          FROM blacklight.runs o WHERE o.parent_run_id = r.id), '[]'::jsonb)
            ))::text
            FROM x JOIN blacklight.runs r ON r.id = x.id
            """, [.text(id)])
        return r.rows.first?[0].stringValue
    }

    /// `{"events": [...], "next_cursor": ...}`, newest first, each with the number of runs it started.
    public func events(name: String?, cursor: String?, limit: Int, conn: PGConnection) throws -> String {
        let r = try conn.query("""
            WITH page AS (
                SELECT e.id, e.name, e.data, e.ts, e.received_at, e.external_id,
                       (SELECT count(*) FROM blacklight.runs r WHERE r.event_id = e.id) AS run_count
                FROM blacklight.events e
                WHERE ($1::text IS NULL OR e.name = $1) AND ($2::text IS NULL OR e.id < $2)
                ORDER BY e.id DESC LIMIT $3
            )
            SELECT jsonb_build_object(
                'events', coalesce((SELECT jsonb_agg(to_jsonb(p) ORDER BY p.id DESC) FROM page p), '[]'::jsonb),
                'next_cursor', CASE WHEN (SELECT count(*) FROM page) = $3 THEN (SELECT min(id) FROM page) END)::text
            """, [name.map { .text($0) } ?? .null, cursor.map { .text($0) } ?? .null, .int(Int64(limit))])
        return r.scalar.stringValue ?? "{}"
    }

    /// One event with the runs it started (a batch's run included) and the functions it started no run of, with why
    /// (`skipped`: rate_limit, or debounce when a later event took its place in the run `run_id`).
    public func event(_ id: String, conn: PGConnection) throws -> String? {
        let r = try conn.query("""
            SELECT jsonb_build_object('id', e.id, 'name', e.name, 'data', e.data, 'ts', e.ts, 'received_at', e.received_at,
                'external_id', e.external_id,
                'runs', coalesce((SELECT jsonb_agg(jsonb_build_object('id', r.id, 'function_id', r.function_id,
                                   'status', r.status, 'kind', r.kind, 'created_at', r.created_at, 'ended_at', r.ended_at)
                                   ORDER BY r.id)
                                  FROM blacklight.runs r WHERE r.event_id = e.id
                                     OR r.id IN (SELECT re.run_id FROM blacklight.run_events re WHERE re.event_id = e.id)), '[]'::jsonb),
                'skipped', coalesce((SELECT jsonb_agg(jsonb_build_object('function_id', s.function_id, 'reason', s.reason,
                                      'key', s.key, 'run_id', s.run_id, 'at', s.at) ORDER BY s.at)
                                     FROM blacklight.skips s WHERE s.event_id = e.id), '[]'::jsonb))::text
            FROM blacklight.events e WHERE e.id = $1
            """, [.text(id)])
        return r.rows.first?[0].stringValue
    }

    /// Functions with their active version, triggers, schedules and last reload error; plus every load error.
    public func functions(id: String? = nil, conn: PGConnection) throws -> String {
        let r = try conn.query("""
            SELECT jsonb_build_object(
              'functions', coalesce((SELECT jsonb_agg(jsonb_build_object(
                  'id', f.id, 'name', f.name, 'file', f.file, 'active_version', f.active_version,
                  'deployed_at', f.deployed_at, 'config', f.config,
                  'paused', f.paused_at IS NOT NULL, 'paused_at', f.paused_at,
                  'triggers', coalesce(f.config -> 'triggers', '[]'::jsonb),
                  'event_triggers', coalesce((SELECT jsonb_agg(jsonb_build_object('event', t.event_name, 'filter', t.filter))
                                              FROM blacklight.triggers t WHERE t.function_id = f.id), '[]'::jsonb),
                  'schedules', coalesce((SELECT jsonb_agg(jsonb_build_object('id', s.id, 'cron', s.expression,
                                              'timezone', s.timezone, 'last_tick', s.last_tick,
                                              'last_error', s.last_error, 'last_error_at', s.last_error_at) ORDER BY s.id)
                                         FROM blacklight.schedules s WHERE s.function_id = f.id), '[]'::jsonb),
                  'load_error', (SELECT jsonb_build_object('file', le.file, 'message', le.message, 'line', le.line, 'at', le.at)
                                 FROM blacklight.load_errors le WHERE le.file = f.file),
                  'versions', (SELECT count(*) FROM blacklight.function_versions v WHERE v.function_id = f.id),
                  'kind', coalesce(f.config ->> 'kind', 'lua'),
                  'app', (SELECT jsonb_build_object('id', a.id, 'url', a.url, 'sdk', a.sdk, 'synced_at', a.synced_at)
                          FROM blacklight.apps a WHERE a.id = f.config ->> 'app')
                ) ORDER BY f.id) FROM blacklight.functions f WHERE $1::text IS NULL OR f.id = $1), '[]'::jsonb),
              'load_errors', coalesce((SELECT jsonb_agg(jsonb_build_object('file', le.file, 'message', le.message,
                                         'line', le.line, 'at', le.at) ORDER BY le.file)
                                       FROM blacklight.load_errors le), '[]'::jsonb))::text
            """, [id.map { .text($0) } ?? .null])
        return r.scalar.stringValue ?? "{}"
    }

    /// Cron schedules with their next tick and their last error (until their next successful fire).
    public func schedules(conn: PGConnection) throws -> JSONValue {
        let now = Date()
        let iso = ISO8601DateFormatter()
        func text(_ s: String?) -> JSONValue { s.map { .string($0) } ?? .null }
        return .object(["schedules": .array(try FunctionCatalog.schedules(conn: conn).map { s in
            .object([
                "id": .string(s.id),
                "function_id": text(s.functionID),
                "cron": .string(s.expression),
                "timezone": text(s.timezone),
                "event_name": text(s.eventName),
                "last_tick": text(s.lastTick.map(iso.string(from:))),
                "next_tick": text(s.next(after: now).map(iso.string(from:))),
                "last_error": text(s.lastError),
                "last_error_at": text(s.lastErrorAt.map(iso.string(from:))),
            ])
        })])
    }
}
