import BlacklightCore
import Foundation
import PGStore
import Testing
import TestSupport
@testable import Engine

@Suite("Retries, failures and limits")
struct FailureTests {
    static func failing(_ id: String, retries: Int, body: String, onFailure: String = "") -> String {
        """
        return workflow {
          id = "\(id)",
          triggers = { { event = "test/\(id)" } },
          retries = \(retries),
          run = function(ctx, step)
            \(body)
          end,
          \(onFailure)
        }
        """
    }

    @Test("retries = N means N+1 attempts, then the run fails and on_failure runs with the error")
    func retriesThenOnFailure() throws {
        let h = try Harness(scripts: ["f.lua": Self.failing("always-fails", retries: 2, body: """
            step.run("boom", function() error("kaput") end)
            """, onFailure: """
            on_failure = function(ctx, err)
              return step.run("note", function() return "handled: " .. err.message end)
            end,
            """).replacingOccurrences(of: "on_failure = function(ctx, err)\n  return step", with: "on_failure = function(ctx, err)\n  return step")])
        try h.load()
        try h.send("test/always-fails")
        try h.drain(until: 10) { try h.runs(function: "always-fails").count == 2 && h.runs(function: "always-fails").allSatisfy { $0["status"].stringValue == "failed" || $0["status"].stringValue == "completed" } }
        let runs = try h.runs(function: "always-fails")
        let main = try #require(runs.first { $0["kind"].stringValue == "run" })
        #expect(main["status"].stringValue == "failed")
        #expect(main["attempt"].intValue == 3)
        let error = try #require(h.error(main))
        #expect(error["message"]?.stringValue?.contains("scripts/f.lua:") == true)
        #expect(error["message"]?.stringValue?.hasSuffix("kaput") == true)
        #expect(error["step"]?.stringValue == "boom")
        #expect(error["traceback"]?.stringValue?.contains("stack traceback") == true)
        let handler = try #require(runs.first { $0["kind"].stringValue == "on_failure" })
        #expect(handler["status"].stringValue == "completed")
        #expect(h.output(handler)?.stringValue?.hasPrefix("handled: scripts/f.lua:") == true)
    }

    @Test("error(step.non_retriable(msg)) fails at once")
    func nonRetriable() throws {
        let h = try Harness(scripts: ["n.lua": Self.failing("nr", retries: 5, body: """
            step.run("check", function() error(step.non_retriable("candidate 7 does not exist")) end)
            """)])
        try h.load()
        try h.send("test/nr")
        try h.drain()
        let run = try h.onlyRun("nr")
        #expect(run["status"].stringValue == "failed")
        #expect(run["attempt"].intValue == 1)
        #expect(h.error(run)?["message"] == "candidate 7 does not exist")
    }

    @Test("error(step.retry_after(seconds, msg)) sets the next attempt's time")
    func retryAfter() throws {
        let h = try Harness(scripts: ["r.lua": Self.failing("ra", retries: 1, body: """
            if ctx.attempt == 1 then error(step.retry_after(60, "rate limited")) end
            return "second"
            """)])
        try h.load()
        try h.send("test/ra")
        try h.drain()
        let run = try h.onlyRun("ra")
        #expect(run["status"].stringValue == "queued")
        #expect(run["attempt"].intValue == 2)
        let wait = try #require(run["run_at"].dateValue).timeIntervalSinceNow
        #expect(wait > 50 && wait <= 61)
        #expect(h.error(run)?["message"] == "rate limited")
    }

    @Test("a SQL error becomes a step failure carrying the server's message")
    func sqlErrorIsStepFailure() throws {
        let h = try Harness(scripts: ["s.lua": Self.failing("sqlerr", retries: 0, body: """
            step.run("bad-sql", function() return db.query("SELECT * FROM no_such_table WHERE id = $1", 1) end)
            """)])
        try h.load()
        try h.send("test/sqlerr")
        try h.drain()
        let run = try h.onlyRun("sqlerr")
        #expect(run["status"].stringValue == "failed")
        let message = h.error(run)?["message"]?.stringValue ?? ""
        #expect(message.contains("relation \"no_such_table\" does not exist"), "\(message)")
        #expect(message.contains("42P01"))
    }

    @Test("a runaway loop fails with a message naming the instruction limit")
    func runawayLoop() throws {
        let h = try Harness(scripts: ["loop.lua": Self.failing("runaway", retries: 3, body: """
            step.run("spin", function() while true do end end)
            """)])
        h.settings.limits.instructions = 5_000_000
        try h.load()
        try h.send("test/runaway")
        try h.drain()
        let run = try h.onlyRun("runaway")
        #expect(run["status"].stringValue == "failed")
        #expect(run["attempt"].intValue == 1)
        #expect(h.error(run)?["message"]?.stringValue?.contains("instruction limit exceeded") == true)
        #expect(h.error(run)?["limit"] == "instructions")
    }

    @Test("a pcall-wrapped runaway loop is still stopped")
    func pcallCannotSwallowLimit() throws {
        let h = try Harness(scripts: ["loop.lua": Self.failing("swallow", retries: 0, body: """
            step.run("spin", function() while true do pcall(function() while true do end end) end end)
            """)])
        h.settings.limits.instructions = 5_000_000
        try h.load()
        try h.send("test/swallow")
        try h.drain()
        let run = try h.onlyRun("swallow")
        #expect(run["status"].stringValue == "failed")
        #expect(h.error(run)?["message"]?.stringValue?.contains("instruction limit exceeded") == true)
    }

    @Test("a memory bomb fails with a message naming the memory limit, and the worker goes on")
    func memoryBomb() throws {
        let h = try Harness(scripts: [
            "bomb.lua": Self.failing("bomb", retries: 0, body: """
                step.run("grow", function()
                  local t = {}
                  for i = 1, 1e9 do t[i] = string.rep("x", 1000) .. i end
                end)
                """),
            "fine.lua": Self.failing("fine", retries: 0, body: "return step.run('ok', function() return 1 end)"),
        ])
        h.settings.limits.memoryBytes = 16 << 20
        try h.load()
        try h.send("test/bomb")
        try h.send("test/fine")
        try h.drain()
        let run = try h.onlyRun("bomb")
        #expect(run["status"].stringValue == "failed")
        #expect(h.error(run)?["message"]?.stringValue?.contains("memory limit exceeded") == true)
        #expect(try h.onlyRun("fine")["status"].stringValue == "completed")
    }

    @Test("sandbox escapes fail with clear messages", arguments: [
        ("os.execute('id')", "os.execute"),
        ("io.open('/etc/passwd')", "io"),
        ("require('socket.core')", "module 'socket.core' not found"),
        ("package.loadlib('x', 'y')", "package"),
        ("assert(load('\\27Lua'))", "binary"),
        ("debug.getinfo(1)", "debug"),
        ("dofile('/etc/passwd')", "dofile"),
        ("x = 1", "x"),
    ])
    func sandboxEscapes(code: String, expected: String) throws {
        let h = try Harness(scripts: ["esc.lua": Self.failing("escape", retries: 0, body: """
            step.run("try", function()
              \(code)
              return "escaped"
            end)
            """)])
        try h.load()
        try h.send("test/escape")
        try h.drain()
        let run = try h.onlyRun("escape")
        #expect(run["status"].stringValue == "failed")
        let message = h.error(run)?["message"]?.stringValue ?? ""
        #expect(message.contains(expected), "\(code) → \(message)")
        #expect(message.contains("scripts/esc.lua:"), "\(message)")
    }
}
