import BlacklightCore
import Foundation
import PGStore

/// `blacklight bench flow`: single events at a steady rate (1,000/s by default, one per transaction, as an app sends
/// them) to a function declaring throttle, then debounce, then batch_events, with two workers draining; per
/// declaration: events/s ingested, runs/s started, and the scheduling error, how far each run's start strays from
/// when the declaration says it is due (negative: it started early, which would break the declared limit).
public enum FlowBenchmark {
    public struct Settings: Sendable {
        public var rate = 1_000
        public var seconds = 10.0
        public var workers = 2
        public var batchSize = 100
        /// Connections sending the events (one cannot keep 1,000 single-event transactions a second beside the workers).
        public var senders = 4
        /// Events per ingest call (1: one event per transaction, as most apps send them).
        public var perCall = 10
        public init() {}
    }

    /// Throttle: 10 runs per second per tenant, 50 tenants (500 runs/s in all, half the event rate, so a backlog
    /// builds and the slots, not the workers, decide). Debounce: 1,000 jobs edited once a second each, a 2 s
    /// period (never quiet) capped by a 5 s timeout. Batches: 4 sources at 250 events/s each, 100 per batch, 1 s
    /// timeout.
    static let throttleKeys = 50, throttleLimit = 10
    static let debounceKeys = 1_000, debouncePeriod = 2.0, debounceTimeout = 5.0
    static let batchKeys = 4, batchSize = 100, batchTimeout = 1.0

    static var scripts: [String: String] {
        [
            "throttled.lua": """
                return workflow {
                  id = "bench-throttled", triggers = { { event = "bench/throttled" } }, retries = 0,
                  throttle = { limit = \(throttleLimit), period = "1s", key = "event.data.tenant" },
                  run = function(ctx, step) return step.run("only", function() return ctx.event.data.n end) end,
                }
                """,
            "debounced.lua": """
                return workflow {
                  id = "bench-debounced", triggers = { { event = "bench/debounced" } }, retries = 0,
                  debounce = { period = "\(Int(debouncePeriod))s", timeout = "\(Int(debounceTimeout))s", key = "event.data.job" },
                  run = function(ctx, step) return step.run("only", function() return ctx.event.data.n end) end,
                }
                """,
            "batched.lua": """
                return workflow {
                  id = "bench-batched", triggers = { { event = "bench/batched" } }, retries = 0,
                  batch_events = { max_size = \(batchSize), timeout = "\(Int(batchTimeout))s", key = "event.data.source" },
                  run = function(ctx, step) return step.run("only", function() return #ctx.events end) end,
                }
                """,
        ]
    }

    public static func run(url: String, settings: Settings, services: HostServices, log: (String) -> Void) throws {
        let conn = try PGConnection(url: url)
        defer { conn.close() }
        try BenchScripts.activate(scripts, label: "flow", conn: conn, services: services)
        let engine = EngineProcess.startedForBench(url: url, workers: settings.workers, batchSize: settings.batchSize,
                                                   services: services)
        defer { engine.stop() }
        log("engine: \(settings.workers) workers, claim batch \(settings.batchSize); \(settings.rate) events/s for \(Int(settings.seconds)) s "
            + "per declaration, \(settings.perCall) event(s) per transaction on \(settings.senders) connections")

        let throttled = try send(url: url, event: "bench/throttled", settings: settings, conn: conn, function: "bench-throttled") {
            .object(["n": .int(Int64($0)), "tenant": .int(Int64($0 % throttleKeys))])
        }
        log("throttle {limit = \(throttleLimit), period = 1s} × \(throttleKeys) tenants (\(throttleKeys * throttleLimit) runs/s allowed):")
        log("  " + throttled.summary)
        log("  " + (try throttleReport(conn)) + (try failures(conn, function: "bench-throttled")))

        let debounced = try send(url: url, event: "bench/debounced", settings: settings, conn: conn, function: "bench-debounced") {
            .object(["n": .int(Int64($0)), "job": .int(Int64($0 % debounceKeys))])
        }
        log("debounce {period = \(Int(debouncePeriod))s, timeout = \(Int(debounceTimeout))s} × \(debounceKeys) jobs, each edited every "
            + String(format: "%.1f s:", Double(debounceKeys) / Double(settings.rate)))
        log("  " + debounced.summary)
        log("  " + (try debounceReport(conn)) + (try failures(conn, function: "bench-debounced")))

        let batched = try send(url: url, event: "bench/batched", settings: settings, conn: conn, function: "bench-batched") {
            .object(["n": .int(Int64($0)), "source": .string("source-\($0 % batchKeys)")])
        }
        log("batch_events {max_size = \(batchSize), timeout = \(Int(batchTimeout))s} × \(batchKeys) sources:")
        log("  " + batched.summary)
        log("  " + (try batchReport(conn)) + (try failures(conn, function: "bench-batched")))
    }

    private static func send(url: String, event: String, settings: Settings, conn: PGConnection, function: String,
                             data: @escaping @Sendable (Int) -> JSONValue) throws -> IngestLoad.Result {
        let result = try IngestLoad.measure(url: url, rate: settings.rate, connections: settings.senders, perCall: settings.perCall,
                                            event: event, data: data) {
            Thread.sleep(forTimeInterval: settings.seconds)
        }
        let deadline = Date().addingTimeInterval(300)
        while try conn.query("""
            SELECT EXISTS (SELECT 1 FROM blacklight.runs WHERE function_id = $1 AND status IN ('queued','running'))
            """, [.text(function)]).scalar.boolValue ?? true {
            if Date() > deadline { throw EngineError(.timeout, "\(function)'s runs did not finish in 5 minutes") }
            Thread.sleep(forTimeInterval: 0.1)
        }
        return result
    }

    /// Runs that failed: none should (each run returns what its event carries), so any is a bug in what a run is given.
    private static func failures(_ conn: PGConnection, function: String) throws -> String {
        let failed = try conn.query("""
            SELECT count(*) FROM blacklight.runs WHERE function_id = $1 AND (status = 'failed' OR attempt > 1)
            """, [.text(function)]).rows.first?[0].intValue ?? 0
        return "; failed or retried: \(failed)"
    }

    /// Runs/s from the first start to the last, and the error distribution in milliseconds.
    static func summary(runs: Int, starts: [Double], errors: [Double], extra: String) -> String {
        let span = (starts.max() ?? 0) - (starts.min() ?? 0)
        let sorted = errors.sorted()
        func pct(_ p: Double) -> Double { sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))] }
        let early = sorted.filter { $0 < -1 }.count
        return String(format: "%d runs started at %.0f runs/s; start − due: p50 %.1f ms, p99 %.1f ms, max %.1f ms; started early: %d%@",
                      runs, Double(runs) / max(span, 0.001), pct(0.5), pct(0.99), sorted.last ?? 0, early, extra)
    }

    /// Due = the run's GCRA slot, recomputed here from the arrival order per tenant: max(arrival, previous slot + T).
    private static func throttleReport(_ conn: PGConnection) throws -> String {
        let rows = try conn.query("""
            SELECT (e.data ->> 'tenant')::int AS k, extract(epoch FROM r.created_at)::float8 AS arrived,
                   extract(epoch FROM r.started_at)::float8 AS started
            FROM blacklight.runs r JOIN blacklight.events e ON e.id = r.event_id
            WHERE r.function_id = 'bench-throttled' AND r.started_at IS NOT NULL ORDER BY r.created_at
            """).rows
        let t = 1.0 / Double(throttleLimit)
        var lastSlot: [Int: Double] = [:]
        var startsByKey: [Int: [Double]] = [:]
        var errors: [Double] = [], starts: [Double] = []
        for row in rows {
            let k = Int(row["k"].intValue ?? 0)
            let arrived = row["arrived"].doubleValue ?? 0, started = row["started"].doubleValue ?? 0
            let slot = max(arrived, (lastSlot[k] ?? -.infinity) + t)
            lastSlot[k] = slot
            errors.append((started - slot) * 1000)
            starts.append(started)
            startsByKey[k, default: []].append(started)
        }
        // The declared limit itself: the most starts of one tenant within any 1 s window (GCRA with no burst lets
        // limit + 1 fall in a closed window of one period, the first and the last on its edges).
        var most = 0
        for (_, s) in startsByKey {
            let sorted = s.sorted()
            var j = 0
            for i in sorted.indices {
                while j < sorted.count && sorted[j] - sorted[i] < 1 { j += 1 }
                most = max(most, j - i)
            }
        }
        return summary(runs: rows.count, starts: starts, errors: errors,
                       extra: "; most starts of one tenant in any 1 s: \(most) (limit \(throttleLimit))")
    }

    /// Due = least(last event + period, first event + timeout); the first is the earliest event the run replaced.
    private static func debounceReport(_ conn: PGConnection) throws -> String {
        let rows = try conn.query("""
            SELECT extract(epoch FROM r.started_at)::float8 AS started,
                   extract(epoch FROM least(e.received_at + make_interval(secs => $1),
                       coalesce((SELECT min(se.received_at) FROM blacklight.skips s JOIN blacklight.events se ON se.id = s.event_id
                                 WHERE s.run_id = r.id AND s.reason = 'debounce'), e.received_at) + make_interval(secs => $2)))::float8 AS due,
                   1 + (SELECT count(*) FROM blacklight.skips s WHERE s.run_id = r.id AND s.reason = 'debounce') AS events
            FROM blacklight.runs r JOIN blacklight.events e ON e.id = r.event_id
            WHERE r.function_id = 'bench-debounced' AND r.started_at IS NOT NULL
            """, [.double(debouncePeriod), .double(debounceTimeout)]).rows
        let errors = rows.map { (($0["started"].doubleValue ?? 0) - ($0["due"].doubleValue ?? 0)) * 1000 }
        let events = rows.reduce(0) { $0 + Int($1["events"].intValue ?? 0) }
        return summary(runs: rows.count, starts: rows.compactMap { $0["started"].doubleValue }, errors: errors,
                       extra: String(format: "; %.1f events per run", Double(events) / Double(max(1, rows.count))))
    }

    /// Due = the arrival of the event that filled the batch, or the first event + timeout.
    private static func batchReport(_ conn: PGConnection) throws -> String {
        let rows = try conn.query("""
            SELECT extract(epoch FROM r.started_at)::float8 AS started, b.n,
                   extract(epoch FROM CASE WHEN b.n >= $1 THEN b.last ELSE b.first + make_interval(secs => $2) END)::float8 AS due
            FROM blacklight.runs r
            JOIN LATERAL (SELECT count(*) AS n, min(e.received_at) AS first, max(e.received_at) AS last
                          FROM blacklight.run_events re JOIN blacklight.events e ON e.id = re.event_id
                          WHERE re.run_id = r.id) b ON true
            WHERE r.function_id = 'bench-batched' AND r.started_at IS NOT NULL
            """, [.int(Int64(batchSize)), .double(batchTimeout)]).rows
        let errors = rows.map { (($0["started"].doubleValue ?? 0) - ($0["due"].doubleValue ?? 0)) * 1000 }
        let sizes = rows.map { Int($0["n"].intValue ?? 0) }
        let full = sizes.filter { $0 >= batchSize }.count
        return summary(runs: rows.count, starts: rows.compactMap { $0["started"].doubleValue }, errors: errors,
                       extra: String(format: "; %.1f events per run, %d full, %d by timeout", Double(sizes.reduce(0, +)) / Double(max(1, rows.count)),
                                     full, rows.count - full))
    }
}
