import BlacklightCore
import Foundation
import PGStore

/// `blacklight bench prune`: builds a history of ended runs (each with its event, steps and a log
/// line, as the job-matching workflows leave them), then prunes it while another connection ingests
/// single events at a steady rate, and reports the prune's speed and the ingest latency meanwhile.
public enum PruneBenchmark {
    public struct Settings: Sendable {
        public var runs = 1_000_000
        public var stepsPerRun = 3
        /// One event in this many carries a client id (a dedupe row in event_ids).
        public var externalIDEvery = 10
        /// Single-event ingests per second during the prune (and the baseline before it).
        public var ingestRate = 200
        public var baselineSeconds = 5.0
        public init() {}
    }

    static let script = """
        return workflow {
          id = "bench-prune",
          triggers = { { event = "bench/prune" } },
          run = function(ctx, step) return step.run("only", function() return 1 end) end,
        }
        """

    public static func run(url: String, settings: Settings, services: HostServices, log: (String) -> Void) throws {
        let conn = try PGConnection(url: url)
        defer { conn.close() }
        let version = try register(url: url, conn: conn, services: services)

        let built = Date()
        try generate(conn: conn, version: version, settings: settings, log: log)
        try conn.execScript("VACUUM ANALYZE blacklight.runs, blacklight.steps, blacklight.run_logs, blacklight.events, blacklight.event_ids")
        let rows = try conn.query("""
            SELECT (SELECT count(*) FROM blacklight.runs) + (SELECT count(*) FROM blacklight.steps)
                 + (SELECT count(*) FROM blacklight.run_logs) + (SELECT count(*) FROM blacklight.events)
                 + (SELECT count(*) FROM blacklight.event_ids) AS n
            """).scalar.intValue ?? 0
        log(String(format: "history: %d ended runs, %d steps each, a log line each, one event each (1 in %d with a client id): "
                   + "%d rows, built in %.0f s", settings.runs, settings.stepsPerRun, settings.externalIDEvery, rows, Date().timeIntervalSince(built)))

        let baseline = try IngestLoad.measure(url: url, rate: settings.ingestRate) {
            Thread.sleep(forTimeInterval: settings.baselineSeconds)
        }
        log("ingest before the prune: " + baseline.summary)

        var counts = PruneCounts()
        var seconds = 0.0
        let during = try IngestLoad.measure(url: url, rate: settings.ingestRate) {
            let started = Date()
            counts = try Pruner().prune(olderThan: RetentionPolicy.defaultSeconds, conn: conn)
            seconds = Date().timeIntervalSince(started)
        }
        log(String(format: "prune: %d rows in %.1f s = %.0f rows/s (%.0f runs/s with their steps, logs and events)",
                   counts.total, seconds, Double(counts.total) / seconds, Double(counts.runs) / seconds))
        log("  " + counts.summary)
        log("ingest during the prune: " + during.summary + " (target p99 ≤ 50 ms)")
    }

    /// The benchmark's function, so the history's runs pin a real version and load events enqueue runs.
    /// Public for `bench metrics`, which scrapes over the same history.
    public static func register(url: String, conn: PGConnection, services: HostServices) throws -> String {
        try BenchScripts.activate(["bench.lua": script], label: "prune", conn: conn, services: services)
        return try BenchScripts.activeVersion(of: "bench-prune", conn: conn)
    }

    /// Set-based, in slices of 100,000 runs (one transaction each) so progress shows. Ids have the
    /// length of ULIDs; the runs ended 31 to 60 days ago, spread evenly.
    public static func generate(conn: PGConnection, version: String, settings: Settings, log: (String) -> Void) throws {
        let slice = 100_000
        var first = 1
        while first <= settings.runs {
            let last = min(settings.runs, first + slice - 1)
            let params: [PGValue] = [.int(Int64(first)), .int(Int64(last)), .int(Int64(settings.runs))]
            try conn.transaction {
                try conn.exec("""
                    INSERT INTO blacklight.events (id, name, data, ts, received_at, external_id)
                    SELECT 'E' || lpad(g::text, 25, '0'), 'bench/prune', jsonb_build_object('candidate_id', g, 'tenant_id', 'bench'),
                           t, t, CASE WHEN g % $4 = 0 THEN 'client-' || g END
                    FROM generate_series($1::int, $2::int) g,
                         LATERAL (SELECT now() - interval '60 days' + (g::float8 / $3) * interval '29 days') x(t)
                    """, params + [.int(Int64(settings.externalIDEvery))])
                try conn.exec("""
                    INSERT INTO blacklight.event_ids (external_id, event_id, received_at)
                    SELECT external_id, id, received_at FROM blacklight.events
                    WHERE id BETWEEN 'E' || lpad($1::text, 25, '0') AND 'E' || lpad($2::text, 25, '0') AND external_id IS NOT NULL
                    """, [params[0], params[1]])
                try conn.exec("""
                    INSERT INTO blacklight.runs (id, function_id, version, event_id, status, attempt, max_attempts, run_at,
                                                 ctx_now, output, error, created_at, started_at, ended_at)
                    SELECT 'R' || lpad(g::text, 25, '0'), 'bench-prune', $4, 'E' || lpad(g::text, 25, '0'),
                           CASE WHEN g % 40 = 0 THEN 'failed' ELSE 'completed' END, 1, 4, t, t,
                           CASE WHEN g % 40 = 0 THEN NULL ELSE jsonb_build_object('matches', g % 17) END,
                           CASE WHEN g % 40 = 0 THEN jsonb_build_object('message', 'bench failure') END,
                           t, t, t + interval '120 ms'
                    FROM generate_series($1::int, $2::int) g,
                         LATERAL (SELECT now() - interval '60 days' + (g::float8 / $3) * interval '29 days') x(t)
                    """, params + [.text(version)])
                try conn.exec("""
                    INSERT INTO blacklight.steps (run_id, key, seq, kind, status, output, started_at, ended_at)
                    SELECT 'R' || lpad(g::text, 25, '0'), 'step-' || k, k, 'run', 'completed',
                           jsonb_build_object('rows', g % 100, 'step', k), t, t + interval '30 ms'
                    FROM generate_series($1::int, $2::int) g, generate_series(1, $4::int) k,
                         LATERAL (SELECT now() - interval '60 days' + (g::float8 / $3) * interval '29 days') x(t)
                    """, params + [.int(Int64(settings.stepsPerRun))])
                try conn.exec("""
                    INSERT INTO blacklight.run_logs (run_id, at, level, message)
                    SELECT 'R' || lpad(g::text, 25, '0'), now() - interval '60 days' + (g::float8 / $3) * interval '29 days',
                           'info', 'matched candidate ' || g
                    FROM generate_series($1::int, $2::int) g
                    """, params)
            }
            log("  built runs \(first)–\(last)")
            first = last + 1
        }
    }
}
