import TestSupport
import BlacklightCore
import Foundation
import PGStore
import Testing
@testable import Engine

/// Real `blacklight` processes against one database: crash recovery, sharing a queue, cron across processes.
@Suite("Worker processes", .serialized)
struct ProcessTests {
    /// A `blacklight` child (`SpawnedProcess`, not Foundation's `Process`: see there); what it prints goes to a file.
    final class Child {
        let process: SpawnedProcess
        let outputFile = FileManager.default.temporaryDirectory.appendingPathComponent("bl-child-\(UUID().uuidString).log")
        init(_ args: [String], env: [String: String] = [:]) throws {
            var environment = ProcessInfo.processInfo.environment
            environment["BLACKLIGHT_RETRY_BASE_DELAY"] = "0.05"
            for (k, v) in env { environment[k] = v }
            process = try SpawnedProcess(executable: Harness.executable.path, arguments: args, environment: environment,
                                         outputPath: outputFile.path)
        }
        /// stdout and stderr so far.
        var output: String { (try? String(contentsOf: outputFile, encoding: .utf8)) ?? "" }
        /// Waits for the exit; the exit code.
        @discardableResult func waitUntilExit() -> Int32 { process.waitUntilExit() }
        func kill9() { process.kill9() }
        func terminate() { process.terminate() }
        deinit { try? FileManager.default.removeItem(at: outputFile) }  // the process's own deinit kills it
    }

    @Test("a worker SIGKILLed mid-step loses nothing: the run completes, memoized steps are not re-run, each effect applies once")
    func sigkillMidStep() throws {
        let h = try Harness(scripts: ["crashy.lua": """
            return workflow {
              id = "crashy",
              triggers = { { event = "test/crash" } },
              retries = 1,  -- the crash costs an attempt (counted at claim)
              run = function(ctx, step)
                step.run("one", function()
                  db.exec("SELECT nextval('entered_one')")
                  db.exec("INSERT INTO effects (run_id, step) VALUES ($1, 'one')", ctx.run_id)
                  return 1
                end)
                step.sleep("gap", 0.1)
                return step.run("two", function()
                  db.exec("INSERT INTO effects (run_id, step) VALUES ($1, 'two')", ctx.run_id)
                  local n = db.one("SELECT nextval('entered_two') AS n").n
                  if n == 1 then while true do db.one("SELECT 1") end end  -- first time: hang until killed
                  return 2
                end)
              end,
            }
            """], setupSQL: """
            CREATE TABLE effects (id serial PRIMARY KEY, run_id text, step text);
            CREATE SEQUENCE entered_one; CREATE SEQUENCE entered_two;
            """)
        try h.load()
        try h.send("test/crash")
        let args = ["worker", "--database-url", h.url, "--dir", h.root.path, "--workers", "1"]
        // A short lease: the killed worker's run is claimable again a second after the kill.
        let first = try Child(args, env: ["BLACKLIGHT_LEASE_SECONDS": "1"])
        // Sequences are not transactional: they show the worker is inside step two right now.
        let entered = try Poll.holds(within: 20) { try h.scalar("SELECT last_value FROM entered_two WHERE is_called").intValue == 1 }
        #expect(entered)
        first.kill9()
        let second = try Child(args, env: ["BLACKLIGHT_LEASE_SECONDS": "1"])
        defer { second.terminate() }
        let done = try Poll.holds(within: 20) { try h.onlyRun("crashy")["status"].stringValue == "completed" }
        #expect(done)
        let run = try h.onlyRun("crashy")
        #expect(h.output(run) == 2)
        #expect(run["attempt"].intValue == 2)
        #expect(try h.scalar("SELECT count(*) FROM effects WHERE step = 'one'").intValue == 1)
        #expect(try h.scalar("SELECT count(*) FROM effects WHERE step = 'two'").intValue == 1)
        #expect(try h.scalar("SELECT last_value FROM entered_one").intValue == 1)  // step one ran once
        #expect(try h.scalar("SELECT last_value FROM entered_two").intValue == 2)  // step two ran again after the crash
    }

    @Test("a run that stops its worker process in every attempt ends failed after its attempts, with a message that says so")
    func poisonRunAcrossProcesses() throws {
        let h = try Harness(scripts: ["poison.lua": """
            return workflow {
              id = "poison",
              triggers = { { event = "test/poison" } },
              retries = 2,
              run = function(ctx, step)
                return step.run("hang", function()
                  db.one("SELECT nextval('entered')")
                  db.one("SELECT pg_advisory_lock(7)")  -- held by the test: the worker hangs here until killed
                  return "never"
                end)
              end,
            }
            """], setupSQL: "CREATE SEQUENCE entered;")
        try h.load()
        try h.conn.exec("SELECT pg_advisory_lock(7)")
        try h.send("test/poison")
        let args = ["worker", "--database-url", h.url, "--dir", h.root.path, "--workers", "1"]
        for attempt in 1...3 {
            let worker = try Child(args, env: ["BLACKLIGHT_LEASE_SECONDS": "1"])
            try Poll.until("attempt \(attempt) inside the step") {
                try h.scalar("SELECT last_value FROM entered WHERE is_called").intValue == Int64(attempt)
            }
            worker.kill9()
        }
        let last = try Child(args, env: ["BLACKLIGHT_LEASE_SECONDS": "1"])
        defer { last.terminate() }
        try Poll.until("the run failed") { try h.onlyRun("poison")["status"].stringValue == "failed" }
        let run = try h.onlyRun("poison")
        #expect(run["attempt"].intValue == 3)
        let message = h.error(run)?["message"]?.stringValue ?? ""
        #expect(message.contains("stopped its worker") && message.contains("each of its 3 attempts"), "\(message)")
        #expect(try h.scalar("SELECT last_value FROM entered").intValue == 3)
        try h.conn.exec("SELECT pg_advisory_unlock(7)")
    }

    @Test("two worker processes drain one queue and no run is executed twice")
    func twoWorkersShareAQueue() throws {
        let h = try Harness(scripts: ["hit.lua": """
            return workflow {
              id = "hit",
              triggers = { { event = "test/hit" } },
              run = function(ctx, step)
                step.run("external", { transaction = false }, function()
                  db.exec("INSERT INTO hits (run_id, pid) VALUES ($1, pg_backend_pid())", ctx.run_id)
                end)
                return step.run("local", function() return ctx.event.data.n end)
              end,
            }
            """], setupSQL: "CREATE TABLE hits (run_id text, pid int);")
        try h.load()
        let count = 400
        let events = (0..<count).map { EventStore.Event(name: "test/hit", data: ["n": .int(Int64($0))]) }
        _ = try EventStore().send(events, conn: h.conn)
        let args = ["worker", "--database-url", h.url, "--dir", h.root.path, "--workers", "2"]
        let a = try Child(args), b = try Child(args)
        defer { a.terminate(); b.terminate() }
        let done = try Poll.holds(within: 60) { try h.scalar("SELECT count(*) FROM blacklight.runs WHERE status = 'completed'").intValue == Int64(count) }
        #expect(done)
        #expect(try h.scalar("SELECT count(*) FROM hits").intValue == Int64(count))
        #expect(try h.scalar("SELECT count(DISTINCT run_id) FROM hits").intValue == Int64(count))
        // Both processes took part (each has its own connections, so backend pids differ).
        #expect(try h.scalar("SELECT count(DISTINCT pid) FROM hits").intValue ?? 0 >= 2)
    }

    @Test("a missed cron tick fires exactly once with three processes running (and only the latest missed tick)")
    func cronOnceAcrossThreeProcesses() throws {
        let h = try Harness(scripts: ["cron.lua": """
            return workflow {
              id = "every-minute",
              triggers = { { cron = "* * * * *" } },
              run = function(ctx, step) return ctx.event.data.tick end,
            }
            """])
        try h.load()
        // Pretend the last tick was an hour ago: 60 ticks were missed while nothing ran.
        try h.conn.exec("UPDATE blacklight.schedules SET last_tick = now() - interval '1 hour'")
        // Port 0: the three must not compete for 8288. INNGEST_DEV=1: serve needs keys otherwise.
        let args = ["serve", "--database-url", h.url, "--dir", h.root.path, "--workers", "1", "--port", "0"]
        let procs = try (0..<3).map { _ in try Child(args, env: ["INNGEST_DEV": "1"]) }
        defer { procs.forEach { $0.terminate() } }
        let fired = try Poll.holds(within: 20) { try h.scalar("SELECT count(*) FROM blacklight.runs WHERE status = 'completed'").intValue ?? 0 >= 1 }
        #expect(fired)
        // Each scheduler has had its chance at the tick the first one fired (a second fire would come now).
        try h.waitForSchedulers(3)
        procs.forEach { $0.terminate() }  // a tick they were in the middle of ends before the count
        let runs = try h.runs(function: "every-minute")
        // Within the same minute exactly one run; if the minute turned meanwhile, one more for the new tick.
        let ticks = runs.compactMap { h.output($0)?.stringValue }
        #expect(Set(ticks).count == ticks.count, "a tick fired twice: \(ticks)")
        #expect(runs.count >= 1 && runs.count <= 2)
    }

    @Test("blacklight send, runs list and runs show work against the database")
    func cliSendAndInspect() throws {
        let h = try Harness(scripts: ["echo.lua": """
            return workflow {
              id = "echo",
              triggers = { { event = "test/echo" } },
              run = function(ctx, step) return step.run("say", function() return ctx.event.data.word end) end,
            }
            """])
        try h.load()
        func run(_ args: [String]) throws -> (Int32, String) {
            let c = try Child(args + ["--database-url", h.url, "--dir", h.root.path])
            let status = c.waitUntilExit()
            return (status, c.output)
        }
        let (status, id) = try run(["send", "test/echo", "--data", "{\"word\": \"hello\"}", "--id", "e-1"])
        #expect(status == 0)
        let (_, again) = try run(["send", "test/echo", "--data", "{\"word\": \"other\"}", "--id", "e-1"])
        #expect(again == id)
        let (bad, message) = try run(["send", "test/echo", "--data", "[1]"])
        #expect(bad != 0)
        #expect(message.contains("--data must be a JSON object"))
        try h.drain()
        let runID = try h.onlyRun("echo")["id"].stringValue!
        let (_, list) = try run(["runs", "list", "--function", "echo"])
        #expect(list.contains(runID) && list.contains("completed") && list.contains("test/echo"))
        let (_, json) = try run(["runs", "show", runID, "--json"])
        let shown = try JSONValue.parse(json)
        #expect(shown["status"] == "completed")
        #expect(shown["output"] == "hello")
        #expect(shown["steps"]?[0]?["id"] == "say")
        #expect(shown["steps"]?[0]?["output"] == "hello")
        #expect(shown["version"]?.stringValue?.count == 16)
        let (_, text) = try run(["runs", "show", runID])
        #expect(text.contains("status    completed"))
        #expect(text.contains("say"))
    }

    @Test("migrate applies once even when two processes start together")
    func concurrentMigrate() throws {
        let url = try TestSupport.TestDatabase.fresh(templateKey: "empty")
        let a = try Child(["migrate", "--database-url", url]), b = try Child(["migrate", "--database-url", url])
        let statuses = (a.waitUntilExit(), b.waitUntilExit())
        #expect(statuses.0 == 0 && statuses.1 == 0)
        let conn = try PGConnection(url: url)
        defer { conn.close() }
        let known = try EngineMigrations.all().count
        #expect(try conn.query("SELECT count(*) FROM blacklight.schema_migrations").rows.first?[0].intValue == Int64(known))
    }
}
