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
        try project.withScratchDatabase { url in try bench(url) }
    }

    private func bench(_ url: String) throws {
        let conn = try PGConnection(url: url)
        defer { conn.close() }
        let services = project.quietServices
        let version = try PruneBenchmark.register(url: url, conn: conn, services: services)
        var settings = PruneBenchmark.Settings()
        settings.runs = runs
        settings.stepsPerRun = stepsPerRun
        let built = Date()
        try PruneBenchmark.generate(conn: conn, version: version, settings: settings) { _ in }
        let stored = try MetricsBenchmark.addBacklog(backlog, version: version, conn: conn)
        print(String(format: "blacklight bench metrics — %d runs stored (%d unfinished), %d steps; built in %.0f s",
                     stored.runs, backlog, stored.steps, Date().timeIntervalSince(built)))

        let plan = try MetricsBenchmark.queueGaugePlan(conn: conn)
        let scan = plan.first { $0.contains("Scan") }?.trimmingCharacters(in: .whitespaces) ?? plan.first ?? ""
        print("queue gauge statement: " + scan)
        print("  " + (plan.last { $0.contains("Execution Time") } ?? ""))

        var legacy: [Double] = []
        for _ in 0..<3 { legacy.append(try MetricsBenchmark.legacyScrape(conn: conn)) }
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
        let server = RunningServer(app, logger: options.logger)
        Task.detached { do { try await server.wait() } catch { failure.set(error); ready.signal() } }
        ready.wait()
        defer { server.stopBlocking() }
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
}
