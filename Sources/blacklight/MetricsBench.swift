import ArgumentParser
import Engine
import Foundation
import PGStore
import Server

/// `blacklight bench metrics`: what a Prometheus scrape of `/metrics` costs with a large history stored.
///
/// Builds the history `bench prune` builds (1M ended runs with their steps, logs and events) plus a backlog of
/// queued runs, starts the HTTP server in this process as `serve` runs it (signing key, no dev), and times
/// scrapes over HTTP with the Bearer token. For comparison it times the statements the scrape ran before issue 10
/// (aggregates over the whole runs, steps and events tables).
struct MetricsBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "metrics", abstract: "GET /metrics with 1M ended runs stored: scrape latency (and the table scans it replaced).")

    @OptionGroup var project: ProjectOptions
    @Option(help: "Ended runs in the history.") var runs = 1_000_000
    @Option(help: "Steps per run.") var stepsPerRun = 3
    @Option(help: "Unfinished (queued) runs besides the history.") var backlog = 1_000
    @Option(help: "Scrapes to time.") var scrapes = 200

    func run() throws {
        let (baseURL, cluster) = try project.database()
        defer { cluster?.stop() }
        try withScratchDatabase(baseURL) { url in try bench(url) }
    }

    private func bench(_ url: String) throws {
        _ = try project.migrate(url)
        let conn = try PGConnection(url: url)
        defer { conn.close() }
        var services = project.services
        services.log.logLevel = .warning
        let version = try PruneBenchmark.register(url: url, conn: conn, services: services)
        var settings = PruneBenchmark.Settings()
        settings.runs = runs
        settings.stepsPerRun = stepsPerRun
        let built = Date()
        try PruneBenchmark.generate(conn: conn, version: version, settings: settings) { _ in }
        try conn.exec("""
            INSERT INTO blacklight.runs (id, function_id, version, status, attempt, max_attempts, run_at, created_at)
            SELECT 'Q' || lpad(g::text, 25, '0'), 'bench-prune', $1, 'queued', 1, 4, now() + interval '1 day', now()
            FROM generate_series(1, $2::int) g
            """, [.text(version), .int(Int64(backlog))])
        try conn.execScript("VACUUM ANALYZE blacklight.runs, blacklight.steps, blacklight.events")
        let stored = try conn.query("SELECT count(*) FROM blacklight.runs").scalar.intValue ?? 0
        let steps = try conn.query("SELECT count(*) FROM blacklight.steps").scalar.intValue ?? 0
        print(String(format: "blacklight bench metrics — %d runs stored (%d unfinished), %d steps; built in %.0f s",
                     stored, backlog, steps, Date().timeIntervalSince(built)))

        let plan = try conn.query("EXPLAIN (ANALYZE, BUFFERS, TIMING OFF) " + QueueDepth.query).rows.compactMap { $0[0].stringValue }
        let scan = plan.first { $0.contains("Scan") }?.trimmingCharacters(in: .whitespaces) ?? plan.first ?? ""
        print("queue gauge statement: " + scan)
        print("  " + (plan.last { $0.contains("Execution Time") } ?? ""))

        var legacy: [Double] = []
        for _ in 0..<3 {
            let started = Date()
            for sql in Self.legacyScrape { _ = try conn.query(sql) }
            legacy.append(Date().timeIntervalSince(started) * 1000)
        }
        print(String(format: "the scrape before issue 10 (aggregates over runs, steps, events): %.0f ms median of 3", legacy.sorted()[1]))

        var options = ServerOptions()
        options.port = 0
        options.signingKey = "bench-signing-key"
        options.eventKeys = ["bench"]
        options.logger.logLevel = .warning
        let ready = DispatchSemaphore(value: 0)
        let failure = ErrorBox()
        nonisolated(unsafe) var boundPort = 0
        let app = BlacklightServer.buildApplication(databaseURL: url, options: options, onServerRunning: { p in
            boundPort = p
            ready.signal()
        })
        let task = Task.detached { do { try await app.run() } catch { failure.set(error); ready.signal() } }
        ready.wait()
        defer { task.cancel(); Thread.sleep(forTimeInterval: 0.3) }
        if let error = failure.value { throw error }

        let client = try LoadClient(host: "127.0.0.1", port: boundPort)
        let auth = ["Authorization": "Bearer bench-signing-key"]
        let first = try client.get(path: "/metrics", host: "127.0.0.1", headers: auth)
        guard first.status == 200 else { throw ValidationError("GET /metrics answered \(first.status)") }
        var times: [Double] = []
        for _ in 0..<scrapes {
            let started = Date()
            let r = try client.get(path: "/metrics", host: "127.0.0.1", headers: auth)
            times.append(Date().timeIntervalSince(started) * 1000)
            guard r.status == 200 else { throw ValidationError("GET /metrics answered \(r.status)") }
        }
        times.sort()
        func pct(_ p: Double) -> Double { times[min(times.count - 1, Int(Double(times.count - 1) * p))] }
        print(String(format: "GET /metrics over HTTP (%d scrapes, %d bytes): p50 %.2f ms, p99 %.2f ms, max %.2f ms",
                     scrapes, first.body.count, pct(0.5), pct(0.99), times.last ?? 0))
    }

    /// What every scrape ran before issue 10, for the comparison only.
    static let legacyScrape = [
        """
        SELECT function_id, count(*), count(*) FILTER (WHERE started_at IS NOT NULL), count(*) FILTER (WHERE status = 'completed'),
               count(*) FILTER (WHERE status = 'failed'), count(*) FILTER (WHERE status = 'cancelled'), coalesce(sum(attempt - 1), 0)
        FROM blacklight.runs GROUP BY function_id
        """,
        """
        SELECT s.status, count(r.id) FROM unnest(ARRAY['queued','running','sleeping','waiting']) s(status)
        LEFT JOIN blacklight.runs r ON r.status = s.status GROUP BY s.status
        """,
        """
        SELECT r.function_id, count(*), sum(d) FROM (SELECT run_id, extract(epoch FROM ended_at - started_at)::float8 AS d
            FROM blacklight.steps WHERE kind = 'run' AND ended_at IS NOT NULL AND started_at IS NOT NULL) s
        JOIN blacklight.runs r ON r.id = s.run_id GROUP BY r.function_id
        """,
        "SELECT count(*) FROM blacklight.events",
    ]
}
