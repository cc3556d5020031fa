import ArgumentParser
import Engine
import Foundation
import PGStore
import Server
import Synchronization

/// `blacklight bench http`: posts events to the event API from several keep-alive connections and
/// prints events/s accepted and latency percentiles, in batches and as single events.
///
/// Without `--target` it starts its own server (in this process, on a free loopback port) on a fresh
/// database of the configured or embedded PostgreSQL, with the engine bench's one-step function
/// active, so every event also enqueues a run (workers are not started: this measures ingest).
struct HTTPBench: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "http", abstract: "Event API throughput and latency over HTTP.")

    @OptionGroup var project: ProjectOptions
    @Option(help: "Seconds per phase.") var seconds = 10.0
    @Option(help: "Concurrent connections.") var connections = 16
    @Option(help: "Events per request in the batch phase.") var batch = 100
    @Option(help: "Base URL of a running server (default: start one here).") var target: String?
    @Option(help: "Database connections of the in-process server.") var pool = 8
    @Option(help: "Event-API database calls in flight at once in the in-process server.") var ingestConcurrency = 3
    @Flag(help: "Only the single-event phase.") var singlesOnly = false

    func run() throws {
        var cleanup: [() -> Void] = []
        defer { cleanup.reversed().forEach { $0() } }
        let host: String, port: Int
        if let target {
            guard let u = URLComponents(string: target), let h = u.host, let p = u.port else {
                throw ValidationError("--target must look like http://127.0.0.1:8288")
            }
            (host, port) = (h, p)
        } else {
            let (url, stop) = try freshDatabase()
            cleanup.append(stop)
            var options = ServerOptions()
            options.dev = true
            options.port = 0
            options.poolSize = pool
            options.ingestConcurrency = ingestConcurrency
            options.logger.logLevel = .warning
            let ready = DispatchSemaphore(value: 0)
            let bound = ErrorBox()
            nonisolated(unsafe) var boundPort = 0
            let app = BlacklightServer.buildApplication(databaseURL: url, options: options, onServerRunning: { p in
                boundPort = p
                ready.signal()
            })
            let server = RunningServer(app, logger: options.logger)
            Task.detached { do { try await server.wait() } catch { bound.set(error); ready.signal() } }
            ready.wait()
            if let error = bound.value { throw error }
            cleanup.append { server.stopBlocking() }
            (host, port) = ("127.0.0.1", boundPort)
        }
        print("blacklight bench http — \(connections) connections, \(Int(seconds)) s per phase, http://\(host):\(port)/e/bench")
        for size in singlesOnly ? [1] : [batch, 1] {
            let r = try phase(host: host, port: port, eventsPerRequest: size)
            print(String(format: "batch %4d: %8.0f events/s accepted, %7.0f requests/s; latency p50 %.2f ms, p99 %.2f ms, max %.2f ms (%d requests, %d errors)",
                         size, r.events / r.seconds, Double(r.latencies.count) / r.seconds, r.percentile(0.5), r.percentile(0.99),
                         r.latencies.max() ?? 0, r.latencies.count, r.errors))
        }
    }

    struct PhaseResult {
        var events = 0.0
        var seconds = 0.0
        var latencies: [Double] = []
        var errors = 0
        func percentile(_ p: Double) -> Double {
            let s = latencies.sorted()
            return s.isEmpty ? 0 : s[min(s.count - 1, Int(Double(s.count - 1) * p))]
        }
    }

    func phase(host: String, port: Int, eventsPerRequest: Int) throws -> PhaseResult {
        let body = Array(("[" + (0..<eventsPerRequest).map { i in
            #"{"name":"bench/one-step","data":{"n":\#(i),"source":"bench-http","tags":["a","b"]}}"#
        }.joined(separator: ",") + "]").utf8)
        let shared = Mutex(PhaseResult())
        let group = DispatchGroup()
        let start = Date()
        let deadline = start.addingTimeInterval(seconds)
        let failure = ErrorBox()
        for _ in 0..<connections {
            group.enter()
            Thread.detachNewThread {
                defer { group.leave() }
                var local: [Double] = []
                var errors = 0, events = 0
                do {
                    let client = try LoadClient(host: host, port: port)
                    while Date() < deadline {
                        let t0 = DispatchTime.now().uptimeNanoseconds
                        let r = try client.post(path: "/e/bench", host: host, body: body)
                        local.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6)
                        if r.status == 200 { events += eventsPerRequest } else { errors += 1 }
                    }
                } catch {
                    failure.set(error)
                }
                shared.withLock { r in
                    r.latencies += local
                    r.errors += errors
                    r.events += Double(events)
                }
            }
        }
        group.wait()
        if let error = failure.value { throw error }
        var result = shared.withLock { $0 }
        result.seconds = Date().timeIntervalSince(start)
        return result
    }

    /// A new database with the migrations and the bench function; the closure drops it.
    private func freshDatabase() throws -> (String, () -> Void) {
        let (baseURL, cluster) = try project.database()
        let dbName = "blacklight_bench_http_\(getpid())"
        let admin = try PGConnection(url: baseURL)
        try admin.exec("CREATE DATABASE \(dbName)")  // name built from our pid only, never from input
        guard var parts = URLComponents(string: baseURL) else { throw ValidationError("cannot parse the database URL") }
        parts.path = "/" + dbName
        let url = parts.string ?? baseURL
        _ = try project.migrate(url)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("blacklight-bench-http-\(getpid())")
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("scripts"), withIntermediateDirectories: true)
        try EngineBench.script.write(to: dir.appendingPathComponent("scripts/bench.lua"), atomically: true, encoding: .utf8)
        let loaded = ScriptDirectory(root: dir).load()
        let setup = try PGConnection(url: url)
        try Registry().activate(loaded.workflows, errors: loaded.errors, retireMissing: true, conn: setup)
        setup.close()
        try? FileManager.default.removeItem(at: dir)
        return (url, {
            _ = try? admin.exec("DROP DATABASE IF EXISTS \(dbName) WITH (FORCE)")
            admin.close()
            cluster?.stop()
        })
    }
}
