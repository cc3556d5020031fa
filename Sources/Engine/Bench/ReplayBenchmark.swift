import BlacklightCore
import Foundation
import PGStore

/// `blacklight bench replay`: a history of failed runs is replayed in bulk (`BulkRuns.replay`) while another
/// connection keeps sending single events of another function; reports how long the replay takes (enqueue, and
/// until every replayed run completed) and the event-to-first-step latency of the other events meanwhile,
/// against a baseline with no replay. At spare capacity (the default), then optionally at a fixed `rate` and unpaced.
public enum ReplayBenchmark {
    public struct Settings: Sendable {
        public var runs = 100_000
        /// Also replay at this many runs per second (nil: only at spare capacity, the default pace).
        public var rate: Double?
        /// Also replay them all at once, to show what pacing prevents.
        public var unpaced = true
        /// Other events per second, sent one per transaction as an app sends them.
        public var eventRate = 200
        public var baselineSeconds = 10.0
        public var workers = 2
        public var batchSize = 100
        public init() {}
    }

    static let scripts = [
        "replayed.lua": """
            return workflow {
              id = "bench-replayed",
              triggers = { { event = "bench/replayed" } },
              retries = 0,
              run = function(ctx, step) return step.run("only", function() return ctx.event.data.n end) end,
            }
            """,
        "other.lua": """
            return workflow {
              id = "bench-other",
              triggers = { { event = "bench/other" } },
              retries = 0,
              run = function(ctx, step) return step.run("only", function() return ctx.event.data.n end) end,
            }
            """,
    ]

    public static func run(url: String, settings: Settings, services: HostServices, log: (String) -> Void) throws {
        let conn = try PGConnection(url: url)
        defer { conn.close() }
        try BenchScripts.activate(scripts, label: "replay", conn: conn, services: services)
        let version = try BenchScripts.activeVersion(of: "bench-replayed", conn: conn)
        let built = Date()
        try conn.exec("""
            WITH ev AS (
                INSERT INTO blacklight.events (id, name, data, ts, received_at)
                SELECT 'E' || lpad(g::text, 25, '0'), 'bench/replayed', jsonb_build_object('n', g), t, t
                FROM generate_series(1, $1::int) g, LATERAL (SELECT now() - interval '1 day' + g * interval '1 ms') x(t)
                RETURNING id, ts
            )
            INSERT INTO blacklight.runs (id, function_id, version, event_id, status, attempt, max_attempts, run_at, error,
                                         created_at, started_at, ended_at)
            SELECT 'R' || substr(id, 2), 'bench-replayed', $2, id, 'failed', 1, 1, ts,
                   jsonb_build_object('message', 'bench failure'), ts, ts, ts + interval '5 ms'
            FROM ev
            """, [.int(Int64(settings.runs)), .text(version)])
        try conn.execScript("VACUUM ANALYZE blacklight.runs, blacklight.events")
        log(String(format: "history: %d failed runs of bench-replayed, built in %.1f s", settings.runs, Date().timeIntervalSince(built)))

        let engine = EngineProcess.startedForBench(url: url, workers: settings.workers, batchSize: settings.batchSize,
                                                   services: services)
        defer { engine.stop() }
        log("engine: \(settings.workers) workers, claim batch \(settings.batchSize); other events: \(settings.eventRate)/s, one per transaction")

        let baseline = try phase("baseline", url: url, settings: settings) { Thread.sleep(forTimeInterval: settings.baselineSeconds) }
        log("no replay (\(Int(settings.baselineSeconds)) s): " + (try latency("baseline", conn: conn)) + "; ingest " + baseline.summary)

        var paces: [BulkRuns.Pace] = [.spareCapacity]
        if let rate = settings.rate { paces.append(.perSecond(rate)) }
        if settings.unpaced { paces.append(.allAtOnce) }
        for pace in paces {
            let name: String, label: String
            switch pace {
            case .spareCapacity: (name, label) = ("spare", "at spare capacity (the default)")
            case .perSecond(let r): (name, label) = (String(format: "paced-%g", r), String(format: "paced at %g runs/s", r))
            case .allAtOnce: (name, label) = ("unpaced", "unpaced (all due at once)")
            }
            var enqueue = 0.0, total = 0.0, count = 0
            let ingest = try phase(name, url: url, settings: settings) {
                let started = Date()
                count = try BulkRuns().replay(RunFilter(function: "bench-replayed", statuses: [.failed]), pace: pace, conn: conn).count
                enqueue = Date().timeIntervalSince(started)
                while try conn.query("""
                    SELECT count(*) FROM blacklight.runs WHERE function_id = 'bench-replayed' AND status IN ('queued','running')
                    """).scalar.intValue ?? 0 > 0 {
                    if Date().timeIntervalSince(started) > 1800 { throw EngineError(.timeout, "the replay did not finish in 30 minutes") }
                    Thread.sleep(forTimeInterval: 0.1)
                }
                total = Date().timeIntervalSince(started)
            }
            log(String(format: "replay %@: %d runs enqueued in %.1f s, all completed after %.1f s (%.0f runs/s)",
                       label, count, enqueue, total, Double(count) / total))
            log("  other events meanwhile: " + (try latency(name, conn: conn)) + "; ingest " + ingest.summary)
        }
    }

    /// Sends the other events, tagged with the phase, for as long as `body` runs.
    private static func phase(_ name: String, url: String, settings: Settings, _ body: () throws -> Void) throws -> IngestLoad.Result {
        try IngestLoad.measure(url: url, rate: settings.eventRate, event: "bench/other",
                               data: { .object(["n": .int(Int64($0)), "phase": .string(name)]) }, during: body)
    }

    /// Event received → its run's step started, for the phase's other events (waiting for the last ones first).
    private static func latency(_ phase: String, conn: PGConnection) throws -> String {
        let deadline = Date().addingTimeInterval(120)
        while Date() < deadline, try conn.query("""
            SELECT count(*) FROM blacklight.runs WHERE function_id = 'bench-other' AND status IN ('queued','running')
            """).scalar.intValue ?? 0 > 0 {
            Thread.sleep(forTimeInterval: 0.05)
        }
        let r = try conn.query("""
            SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) AS p50, percentile_cont(0.99) WITHIN GROUP (ORDER BY ms) AS p99,
                   max(ms) AS max, count(*) AS n
            FROM (SELECT extract(epoch FROM s.started_at - e.received_at) * 1000 AS ms
                  FROM blacklight.events e JOIN blacklight.runs r ON r.event_id = e.id
                  JOIN blacklight.steps s ON s.run_id = r.id AND s.key = 'only'
                  WHERE e.name = 'bench/other' AND e.data ->> 'phase' = $1) t
            """, [.text(phase)])
        guard let row = r.rows.first else { return "no events" }
        return String(format: "%d events, event-to-step p50 %.1f ms, p99 %.1f ms, max %.1f ms",
                      row["n"].intValue ?? 0, row["p50"].doubleValue ?? 0, row["p99"].doubleValue ?? 0, row["max"].doubleValue ?? 0)
    }
}
