import BlacklightCore
import Foundation
import PGStore
import Testing
import TestSupport
@testable import Engine

/// Time and memory limits of a run: each ends that run alone with a message naming the limit.
@Suite("Run time and memory limits")
struct RunLimitsTests {
    static func workflow(_ id: String, retries: Int = 0, extra: String = "", _ body: String) -> String {
        """
        return workflow {
          id = "\(id)",
          triggers = { { event = "test/\(id)" } },
          retries = \(retries),
          \(extra)
          run = function(ctx, step)
            \(body)
          end,
        }
        """
    }

    static let fine = workflow("fine", "return step.run('ok', function() return 'fine' end)")

    @Test("regression: a pattern match stuck inside one C call times out the step, and the batch-mate completes")
    func runawayPatternTimesOut() throws {
        let h = try Harness(scripts: [
            "p.lua": Self.workflow("pattern", """
                return step.run("match", { timeout = "0.5s" }, function()
                  return string.find(string.rep("a", 5000), ".-.-.-.-b")
                end)
                """),
            "f.lua": Self.fine,
        ])
        h.settings.limits.instructions = 1 << 62
        try h.load()
        try h.send("test/pattern")
        try h.send("test/fine")
        try h.drain()
        #expect(try h.onlyRun("fine")["status"].stringValue == "completed")
        let run = try h.onlyRun("pattern")
        #expect(run["status"].stringValue == "failed")
        #expect(h.error(run)?["message"]?.stringValue == "step 'match' timed out after 500 ms")
        #expect(h.error(run)?["timeout"] == "step")
        let step = try #require(try h.steps(run["id"].stringValue ?? "").first)
        #expect(step["status"].stringValue == "failed")
    }

    @Test("a workflow's timeouts.step applies to every step, and a timed-out step is retried by the retry policy")
    func workflowStepTimeout() throws {
        let h = try Harness(scripts: [
            "w.lua": Self.workflow("busy", retries: 1, extra: "timeouts = { step = \"300ms\" },", """
                return step.run("spin", function()
                  if ctx.attempt == 1 then while true do end end
                  return ctx.attempt
                end)
                """),
        ])
        h.settings.limits.instructions = 1 << 62
        try h.load()
        try h.send("test/busy")
        try h.drain(until: 10) { try h.onlyRun("busy")["status"].stringValue == "completed" }
        let run = try h.onlyRun("busy")
        #expect(h.output(run)?.intValue == 2)
        let step = try #require(try h.steps(run["id"].stringValue ?? "").first)
        #expect(step["attempts"].intValue == 2)
    }

    @Test("SQL in a step gets a statement timeout from the step's remaining time")
    func statementTimeout() throws {
        let h = try Harness(scripts: [
            "s.lua": Self.workflow("sleepy", """
                return step.run("nap", { timeout = "300ms" }, function() return db.one("SELECT pg_sleep(30)") end)
                """),
            "f.lua": Self.fine,
        ])
        try h.load()
        try h.send("test/sleepy")
        try h.send("test/fine")
        try h.drain()
        #expect(try h.onlyRun("fine")["status"].stringValue == "completed")
        let run = try h.onlyRun("sleepy")
        #expect(run["status"].stringValue == "failed")
        let message = h.error(run)?["message"]?.stringValue ?? ""
        #expect(message.contains("ran past the step's time limit") && message.contains("57014"), "\(message)")
    }

    @Test("timeouts.start cancels a run that waited too long to start; timeouts.run fails a run past its limit")
    func startAndRunTimeouts() throws {
        let h = try Harness(scripts: [
            "s.lua": Self.workflow("late", extra: "timeouts = { start = \"1m\" },", "return 1"),
            "r.lua": Self.workflow("long", extra: "timeouts = { run = \"1h\" },", "step.sleep('nap', '2h')"),
        ])
        try h.load()
        try h.send("test/late")
        try h.conn.exec("UPDATE blacklight.runs SET created_at = now() - interval '2 minutes' WHERE function_id = 'late'")
        try h.send("test/long")
        try h.drain()
        let late = try h.onlyRun("late")
        #expect(late["status"].stringValue == "cancelled")
        #expect(h.error(late)?["message"]?.stringValue?.contains("did not start within 1 min") == true)
        // The sleeping run wakes after its run limit passed.
        try h.conn.exec("""
            UPDATE blacklight.runs SET started_at = now() - interval '3 hours', run_at = now() WHERE function_id = 'long'
            """)
        try h.drain()
        let long = try h.onlyRun("long")
        #expect(long["status"].stringValue == "failed")
        #expect(h.error(long)?["message"]?.stringValue == "the run timed out after 1 h (timeouts.run)")
    }

    @Test("invalid timeouts are load errors naming the field")
    func invalidTimeouts() throws {
        let h = try Harness(scripts: ["bad.lua": Self.workflow("bad", extra: "timeouts = { steps = \"5m\" },", "return 1")])
        let result = try h.load()
        #expect(result.workflows.isEmpty)
        #expect(result.errors.first?.message.contains("unknown field 'steps'") == true)
        #expect(result.errors.first?.file == "scripts/bad.lua")
    }

    @Test("logs are bounded per run: long lines are cut and past the limit a marker says lines were dropped")
    func logLimits() throws {
        let h = try Harness(scripts: ["l.lua": Self.workflow("chatty", """
            local big = string.rep("x", 1000000)
            for i = 1, 200 do log.info(big) end
            for i = 1, 50 do log.info("line " .. i) end
            return "done"
            """)])
        h.settings.runLimits.logLines = 20
        h.settings.runLimits.logBytes = 200_000
        h.settings.runLimits.logMessageBytes = 10_000
        try h.load()
        try h.send("test/chatty")
        try h.drain()
        let run = try h.onlyRun("chatty")
        #expect(run["status"].stringValue == "completed")
        let logs = try h.conn.query("SELECT message FROM blacklight.run_logs WHERE run_id = $1 ORDER BY at, message",
                                    [.text(run["id"].stringValue ?? "")]).rows.compactMap { $0["message"].stringValue }
        #expect(logs.count <= 21)
        #expect(logs.contains { $0.contains("[truncated: 990000 more bytes]") })
        #expect(logs.contains { $0.hasPrefix("[log truncated: this run reached its log limit") })
        #expect(logs.reduce(0) { $0 + $1.utf8.count } < 250_000)
    }

    @Test("a step output over the limit fails the step with its size; a db.query result over the limit suggests paging")
    func outputAndResultLimits() throws {
        let h = try Harness(scripts: [
            "o.lua": Self.workflow("bigout", "return step.run('big', function() return string.rep('y', 5000) end)"),
            "q.lua": Self.workflow("bigquery", """
                return step.run('rows', function() return db.query("SELECT g, repeat('z', 100) AS pad FROM generate_series(1, 1000) g") end)
                """),
            "f.lua": Self.fine,
        ])
        h.settings.runLimits.outputBytes = 1000
        h.settings.runLimits.queryResultBytes = 10_000
        try h.load()
        try h.send("test/bigout")
        try h.send("test/bigquery")
        try h.send("test/fine")
        try h.drain()
        #expect(try h.onlyRun("fine")["status"].stringValue == "completed")
        let out = h.error(try h.onlyRun("bigout"))?["message"]?.stringValue ?? ""
        #expect(out.contains("step 'big' returned a value that cannot be stored") && out.contains("limit of a step output"), "\(out)")
        let query = h.error(try h.onlyRun("bigquery"))?["message"]?.stringValue ?? ""
        #expect(query.contains("db.query: the result holds") && query.contains("fetch it in pages"), "\(query)")
    }

    @Test("the version cache keeps at most its capacity of Lua states")
    func versionCacheIsBounded() throws {
        let h = try Harness(scripts: [
            "a.lua": Self.workflow("va", "return 1"), "b.lua": Self.workflow("vb", "return 1"),
            "c.lua": Self.workflow("vc", "return 1"),
        ])
        try h.load()
        let cache = VersionCache(services: h.services, limits: h.settings.limits, capacity: 2)
        for id in ["va", "vb", "vc", "va"] {
            let version = try #require(try h.scalar("SELECT active_version FROM blacklight.functions WHERE id = $1", [.text(id)]).stringValue)
            _ = try cache.vm(function: id, version: version, conn: h.conn)
            #expect(cache.count <= 2)
        }
    }
}
