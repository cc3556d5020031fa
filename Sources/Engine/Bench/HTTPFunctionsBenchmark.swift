import BlacklightCore
import Foundation
import PGStore

/// `blacklight bench http-functions`: runs of an Inngest SDK app's function (bench/inngest_app.py on Flask, loopback,
/// signed requests) beside the same workflow in Lua: runs/s with several workers, and Blacklight's time per step round
/// trip with the app's own time taken out (the app's time per call is measured by calling it directly with the same
/// requests, without Blacklight).
public enum HTTPFunctionsBenchmark {
    public struct Settings: Sendable {
        public var runs = 300
        public var steps = 5
        public var workers = 2
        public var appPort = 0
        public var signingKey = "signkey-bench-" + String(repeating: "5e", count: 32)
        public init() {}
    }

    public static func run(url: String, settings: Settings, services: HostServices, log: (String) -> Void) throws {
        let conn = try PGConnection(url: url)
        defer { conn.close() }
        let appURL = "http://127.0.0.1:\(settings.appPort)/api/inngest"
        let sync: JSONValue = .object([
            "appname": "bench", "url": .string(appURL), "sdk": "py", "framework": "flask",
            "functions": [.object([
                "id": "bench-steps", "name": "steps", "triggers": [.object(["event": "bench/http"])],
                "steps": .object(["step": .object(["id": "step", "name": "step", "runtime": .object([
                    "type": "http", "url": .string(appURL + "?fnId=bench-steps&stepId=step")])])]),
            ])],
        ])
        _ = try AppSync().sync(sync, conn: conn)
        try BenchScripts.activate(["bench.lua": """
            return workflow {
              id = "bench-lua",
              triggers = { { event = "bench/lua" } },
              run = function(ctx, step)
                local total = 0
                for i = 0, ctx.event.data.steps - 1 do total = total + step.run("s" .. i, function() return i end) end
                return { steps = ctx.event.data.steps, total = total }
              end,
            }
            """], label: "http", retireMissing: false, conn: conn, services: services)

        // 1. The app alone: each request of a run (0…steps memos), signed, called directly.
        let appAlone = try appTime(appURL: appURL, settings: settings)
        log(String(format: "app alone (Flask + inngest SDK, signed, loopback): %.2f ms per call (mean over the %d calls of a run)",
                   appAlone * 1000, settings.steps + 1))

        // 2. One worker, runs one after another: wall time per call minus the app's.
        let calls = Double(settings.steps + 1)
        let sequentialRuns = min(settings.runs, 100)
        _ = AppCallClock.take()
        let seq = try drain(url: url, name: "bench/http", function: "bench-steps", runs: sequentialRuns, settings: settings,
                            workers: 1, batchSize: 1, services: services)
        let waited = AppCallClock.take()
        let perCall = seq / Double(sequentialRuns) / calls
        let appPerCall = waited.seconds / Double(max(1, waited.calls))
        log(String(format: "http, 1 worker, %d runs in sequence: %.2f ms per run, %.2f ms per step round trip (%d calls): "
                   + "the app answered in %.2f ms, Blacklight's share %.2f ms", sequentialRuns, seq / Double(sequentialRuns) * 1000,
                   perCall * 1000, waited.calls, appPerCall * 1000, (seq - waited.seconds) / Double(max(1, waited.calls)) * 1000))
        let luaSeq = try drain(url: url, name: "bench/lua", function: "bench-lua", runs: sequentialRuns, settings: settings,
                               workers: 1, batchSize: 1, services: services)
        log(String(format: "lua,  1 worker, %d runs in sequence: %.2f ms per run (%.3f ms per step)", sequentialRuns,
                   luaSeq / Double(sequentialRuns) * 1000, luaSeq / Double(sequentialRuns) / Double(settings.steps) * 1000))

        // 3. Throughput with several workers.
        let http = try drain(url: url, name: "bench/http", function: "bench-steps", runs: settings.runs, settings: settings,
                             workers: settings.workers, batchSize: 100, services: services)
        log(String(format: "http, %d workers: %d runs of %d steps in %.2f s: %.0f runs/s, %.0f steps/s", settings.workers, settings.runs,
                   settings.steps, http, Double(settings.runs) / http, Double(settings.runs * settings.steps) / http))
        let lua = try drain(url: url, name: "bench/lua", function: "bench-lua", runs: settings.runs, settings: settings,
                            workers: settings.workers, batchSize: 100, services: services)
        log(String(format: "lua,  %d workers: %d runs of %d steps in %.2f s: %.0f runs/s, %.0f steps/s", settings.workers, settings.runs,
                   settings.steps, lua, Double(settings.runs) / lua, Double(settings.runs * settings.steps) / lua))
    }

    /// Seconds from starting `workers` until `runs` queued runs of `function` completed.
    static func drain(url: String, name: String, function: String, runs: Int, settings: Settings, workers: Int, batchSize: Int,
                      services: HostServices) throws -> Double {
        let conn = try PGConnection(url: url)
        defer { conn.close() }
        let events = (0..<runs).map { _ in EventStore.Event(name: name, data: .object(["steps": .int(Int64(settings.steps))])) }
        var offset = 0
        while offset < events.count {
            _ = try EventStore().send(Array(events[offset..<min(offset + 500, events.count)]), conn: conn)
            offset += 500
        }
        var options = EngineProcess.Options()
        options.workers = workers
        options.scheduler = false
        options.worker.batchSize = batchSize
        options.worker.pollInterval = 0.05
        options.worker.http.signingKey = settings.signingKey
        options.services = services
        let engine = EngineProcess(url: url, options: options)
        let start = Date()
        engine.start()
        defer { engine.stop() }
        while true {
            let left = try conn.query("SELECT count(*) FROM blacklight.runs WHERE function_id = $1 AND status NOT IN ('completed','failed','cancelled')",
                                      [.text(function)]).scalar.intValue ?? 0
            if left == 0 { break }
            if Date().timeIntervalSince(start) > 600 { throw EngineError(.timeout, "\(left) runs of \(function) still unfinished after 600 s") }
            Thread.sleep(forTimeInterval: 0.005)
        }
        let elapsed = Date().timeIntervalSince(start)
        let failed = try conn.query("SELECT count(*) FROM blacklight.runs WHERE function_id = $1 AND status <> 'completed'",
                                    [.text(function)]).scalar.intValue ?? 0
        if failed > 0 { throw EngineError(.database, "\(failed) runs of \(function) did not complete") }
        try conn.exec("DELETE FROM blacklight.runs WHERE function_id = $1", [.text(function)])
        return elapsed
    }

    /// Mean seconds of one call to the app, over the requests of one run (0…steps memos), signed, 20 rounds.
    static func appTime(appURL: String, settings: Settings) throws -> Double {
        let client = AppClient(timeout: 30)
        guard let url = HTTPRunner.url(appURL + "?fnId=bench-steps&stepId=step", target: nil) else {
            throw EngineError(.config, "bad app URL \(appURL)")
        }
        let event: JSONValue = .object(["name": "bench/http", "data": .object(["steps": .int(Int64(settings.steps))]), "id": "e", "ts": 0])
        var bodies: [[UInt8]] = []
        for k in 0...settings.steps {
            var steps: [String: JSONValue] = [:]
            for i in 0..<k { steps[InngestSignature.stepID("s\(i)")] = .object(["data": .int(Int64(i))]) }
            let body: JSONValue = .object([
                "event": event, "events": [event], "steps": .object(steps), "use_api": false, "version": 1,
                "ctx": .object(["run_id": "bench", "attempt": 0, "max_attempts": 4, "disable_immediate_execution": false,
                                "use_api": false, "stack": .object(["stack": .array(steps.keys.sorted().map { .string($0) })])]),
            ])
            bodies.append(Array(body.canonicalized().utf8))
        }
        var total = 0.0
        var count = 0
        for round in 0..<21 {
            for body in bodies {
                let headers = ["Content-Type": "application/json", "X-Inngest-Server-Kind": "cloud",
                               "X-Inngest-Signature": InngestSignature.sign(body, key: settings.signingKey)]
                let start = Date()
                let reply = try client.post(url, body: body, headers: headers)
                guard reply.status == 200 || reply.status == 206 else {
                    throw EngineError(.config, "the bench app answered \(reply.status): \(String(decoding: reply.body.prefix(300), as: UTF8.self))")
                }
                if round > 0 {  // the first round warms the connection and the app
                    total += Date().timeIntervalSince(start)
                    count += 1
                }
            }
        }
        return total / Double(max(1, count))
    }
}
