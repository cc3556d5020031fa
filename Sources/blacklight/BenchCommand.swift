import ArgumentParser
import BlacklightCore
import Engine
import Foundation
import PGStore

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench", abstract: "Benchmarks that print their figures.",
        subcommands: [EngineBench.self, FlowBench.self, ReloadBench.self, HTTPBench.self, ChaosBench.self, MatchingBench.self, VectorBench.self,
                     EmbeddingsBench.self,
                     PruneBench.self, IdleBench.self, MetricsBench.self,
                     ReplayBench.self, HTTPFunctionsBench.self])
}

/// `blacklight bench reload`: save → active and deploy → every worker swapped.
struct ReloadBench: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "reload", abstract: "Hot-reload and deploy latency.")

    @OptionGroup var project: ProjectOptions
    @Option(help: "Saves and deploys to time.") var rounds = 20
    @Option(help: "Worker processes' listeners to swap.") var workers = 3

    func run() throws {
        try project.withScratchDatabase { url in
            let services = project.quietServices
            try ReloadBenchmark.run(url: url, rounds: rounds, workers: workers, services: services) { print($0) }
        }
    }
}

/// Runs `body` against a fresh database next to `baseURL`, dropped afterwards.
extension ProjectOptions {
    /// Runs a benchmark in a database of its own, migrated, on the configured server (or the embedded cluster, started
    /// for it): created from our pid, dropped afterwards whatever happens.
    func withScratchDatabase(_ body: (String) throws -> Void) throws {
        let (baseURL, cluster) = try database()
        defer { cluster?.stop() }
        let dbName = "blacklight_bench_\(getpid())"
        let admin = try PGConnection(url: baseURL)
        try admin.exec("CREATE DATABASE \(dbName)")  // name built from our pid only, never from input
        defer {
            _ = try? admin.exec("DROP DATABASE IF EXISTS \(dbName) WITH (FORCE)")
            admin.close()
        }
        guard var parts = URLComponents(string: baseURL) else { throw ValidationError("cannot parse the database URL") }
        parts.path = "/" + dbName
        let url = parts.string ?? baseURL
        _ = try migrate(url)
        try body(url)
    }

    /// The host services with warnings and errors only, so a benchmark's figures are not lost among its log lines.
    var quietServices: HostServices {
        var services = self.services
        services.log.logLevel = .warning
        return services
    }
}

/// `blacklight bench engine`: ingest rate, drain rate of one-step runs, and event-to-first-step latency
/// at a steady rate, against a fresh database on the configured (or embedded) PostgreSQL.
struct EngineBench: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "engine", abstract: "Ingest, drain and latency of the durable engine.")

    @OptionGroup var project: ProjectOptions
    @Option(help: "Events to ingest and runs to drain.") var events = 20_000
    @Option(help: "Events per ingest transaction.") var ingestBatch = 100
    @Option(help: "Connections sending events.") var senders = 2
    @Option(help: "Worker threads.") var workers = 2
    @Option(help: "Runs claimed per batch transaction.") var batchSize = 100
    @Option(help: "Events per second in the latency phase.") var rate = 200
    @Option(help: "Seconds of the latency phase.") var seconds = 10

    static let script = """
        return workflow {
          id = "bench-one-step",
          triggers = { { event = "bench/one-step" } },
          retries = 0,
          run = function(ctx, step)
            return step.run("only", function() return { n = ctx.event.data.n } end)
          end,
        }
        """

    func run() throws {
        try project.withScratchDatabase { url in try bench(url) }
    }

    private func bench(_ url: String) throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("blacklight-bench-\(getpid())")
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("scripts"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try Self.script.write(to: dir.appendingPathComponent("scripts/bench.lua"), atomically: true, encoding: .utf8)
        let loaded = ScriptDirectory(root: dir).load()
        guard loaded.errors.isEmpty else { throw ValidationError("bench script failed: \(loaded.errors)") }
        let setup = try PGConnection(url: url)
        defer { setup.close() }
        try Registry().activate(loaded.workflows, errors: [], retireMissing: true, conn: setup)

        print("blacklight bench engine — PostgreSQL with fsync and synchronous_commit as configured on the server")
        let sync = try setup.query("SHOW synchronous_commit").rows.first?[0].stringValue ?? "?"
        let fsync = try setup.query("SHOW fsync").rows.first?[0].stringValue ?? "?"
        print("server: fsync=\(fsync) synchronous_commit=\(sync); \(workers) workers, claim batch \(batchSize)")

        // 1. Ingest.
        let ingestStart = Date()
        try parallelSend(url: url, total: events, perTransaction: ingestBatch, connections: senders)
        let ingestSeconds = Date().timeIntervalSince(ingestStart)
        print(String(format: "ingest: %d events (transactions of %d, %d connections) in %.2f s = %.0f events/s",
                     events, ingestBatch, senders, ingestSeconds, Double(events) / ingestSeconds))
        let queued = try EngineBenchQueries.runs(status: "queued", conn: setup)

        // 2. Drain the pre-filled queue.
        var options = EngineProcess.Options()
        options.workers = workers
        options.scheduler = false
        options.worker.batchSize = batchSize
        var services = HostServices(log: project.logger)
        services.log.logLevel = .warning
        options.services = services
        let engine = EngineProcess(url: url, options: options)
        let drainStart = Date()
        engine.start()
        while try EngineBenchQueries.unfinished(conn: setup) {
            if Date().timeIntervalSince(drainStart) > 600 { throw ValidationError("drain did not finish in 10 minutes") }
            Thread.sleep(forTimeInterval: 0.02)
        }
        let drainSeconds = Date().timeIntervalSince(drainStart)
        let failed = try EngineBenchQueries.runs(status: "failed", conn: setup)
        print(String(format: "drain: %d one-step runs completed in %.2f s = %.0f runs/s (failed: %d)",
                     queued, drainSeconds, Double(queued) / drainSeconds, failed))

        // 3. Latency at a steady rate, one event per transaction as an app sends them.
        let marker = try EngineBenchQueries.lastEventID(conn: setup)
        let sender = try PGConnection(url: url)
        let total = rate * seconds
        let interval = 1.0 / Double(rate)
        let latencyStart = Date()
        for i in 0..<total {
            let due = latencyStart.addingTimeInterval(Double(i) * interval)
            let wait = due.timeIntervalSinceNow
            if wait > 0 { Thread.sleep(forTimeInterval: wait) }
            _ = try EventStore().send([EventStore.Event(name: "bench/one-step", data: .object(["n": .int(Int64(i))]))], conn: sender)
        }
        let sendSeconds = Date().timeIntervalSince(latencyStart)
        sender.close()
        let deadline = Date().addingTimeInterval(60)
        while try EngineBenchQueries.unfinished(conn: setup), Date() < deadline {
            Thread.sleep(forTimeInterval: 0.05)
        }
        engine.stop()
        let lat = try EngineBenchQueries.eventToStep(after: marker, step: "only", conn: setup)
        print(String(format: "latency: %d events at %.0f/s; event-to-first-step p50 %.2f ms, p99 %.2f ms, max %.2f ms",
                     Int(lat.count), Double(total) / sendSeconds, lat.p50, lat.p99, lat.max))
    }

    private func parallelSend(url: String, total: Int, perTransaction: Int, connections: Int) throws {
        let group = DispatchGroup()
        let errors = ErrorBox()
        let share = (total + connections - 1) / connections
        for c in 0..<connections {
            let start = c * share, end = min(total, start + share)
            if start >= end { continue }
            group.enter()
            Thread.detachNewThread {
                defer { group.leave() }
                do {
                    let conn = try PGConnection(url: url)
                    defer { conn.close() }
                    var i = start
                    while i < end {
                        let n = min(perTransaction, end - i)
                        let batch = (i..<(i + n)).map { EventStore.Event(name: "bench/one-step", data: .object(["n": .int(Int64($0))])) }
                        _ = try EventStore().send(batch, conn: conn)
                        i += n
                    }
                } catch {
                    errors.set(error)
                }
            }
        }
        group.wait()
        if let error = errors.value { throw error }
    }
}

final class ErrorBox: @unchecked Sendable {
    private let lock = NSLock()
    private var error: Error?
    func set(_ e: Error) { lock.lock(); error = e; lock.unlock() }
    var value: Error? { lock.lock(); defer { lock.unlock() }; return error }
}
