import BlacklightCore
import Foundation
import PGStore
import Testing
import TestSupport
@testable import Engine

/// A run is the unit of failure: whatever one run does to the shared batch transaction or connection, its
/// batch-mates commit. Each test names the defect it reproduces.
@Suite("Run isolation in a shared batch")
struct IsolationTests {
    static let effects = "CREATE TABLE effects (run_id text NOT NULL, what text NOT NULL)"

    static func workflow(_ id: String, retries: Int = 0, _ body: String) -> String {
        """
        return workflow {
          id = "\(id)",
          triggers = { { event = "test/\(id)" } },
          retries = \(retries),
          run = function(ctx, step)
            \(body)
          end,
        }
        """
    }

    /// A batch-mate that records one effect and completes.
    static let mate = workflow("mate", """
        return step.run("write", function()
          return db.exec("INSERT INTO effects (run_id, what) VALUES ($1, 'mate')", ctx.run_id)
        end)
        """)

    static func mateCompleted(_ h: Harness) throws {
        let mate = try h.onlyRun("mate")
        #expect(mate["status"].stringValue == "completed", "\(h.error(mate) ?? .null)")
        #expect(try h.scalar("SELECT count(*) FROM effects WHERE what = 'mate'").intValue == 1)
    }

    @Test("regression: a SQL error swallowed by pcall inside a step no longer rolls back the whole batch")
    func swallowedSQLError() throws {
        let h = try Harness(scripts: [
            "a.lua": Self.workflow("swallow", """
                return step.run("a", function()
                  db.exec("INSERT INTO effects (run_id, what) VALUES ($1, 'before')", ctx.run_id)
                  pcall(db.exec, "INSERT INTO nope VALUES (1)")
                  return 1
                end)
                """),
            "m.lua": Self.mate,
        ], setupSQL: Self.effects)
        try h.load()
        try h.send("test/swallow")
        try h.send("test/mate")
        #expect(try h.drain() == 2)
        try Self.mateCompleted(h)
        let run = try h.onlyRun("swallow")
        #expect(run["status"].stringValue == "failed")
        let message = h.error(run)?["message"]?.stringValue ?? ""
        #expect(message.contains("step 'a' caught a SQL error and carried on"), "\(message)")
        #expect(message.contains("relation \"nope\" does not exist"), "\(message)")
        // The step's own write before the error was undone with it.
        #expect(try h.scalar("SELECT count(*) FROM effects WHERE what = 'before'").intValue == 0)
        // Nothing is executed again: one attempt, recorded once.
        #expect(try h.drain() == 0)
        #expect(run["attempt"].intValue == 1)
    }

    @Test("transaction control and session changes from scripts are refused with a clear error",
          arguments: ["ROLLBACK", "COMMIT", "begin", "  /* c */ SAVEPOINT x", "RELEASE SAVEPOINT bl_step",
                      "SET search_path = public", "set session statement_timeout = 0", "RESET ALL", "DISCARD ALL",
                      "LISTEN x", "PREPARE p AS SELECT 1", "-- comment\nCOMMIT"])
    func transactionControlRefused(sql: String) throws {
        let h = try Harness(scripts: [
            "t.lua": Self.workflow("txn", """
                return step.run("ctl", function() return db.exec(\(JSONValue.string(sql).serialized())) end)
                """),
            "m.lua": Self.mate,
        ], setupSQL: Self.effects)
        try h.load()
        try h.send("test/txn")
        try h.send("test/mate")
        try h.drain()
        try Self.mateCompleted(h)
        let run = try h.onlyRun("txn")
        #expect(run["status"].stringValue == "failed")
        let message = h.error(run)?["message"]?.stringValue ?? ""
        #expect(message.contains("db.exec: "), "\(message)")
        #expect(message.contains("transaction control") || message.contains("session") || message.contains("not allowed"), "\(message)")
    }

    @Test("db.tx isolates part of a step: an error inside rolls back only the block, the step's other writes stay")
    func dbTxIsolatesPartOfAStep() throws {
        let h = try Harness(scripts: [
            "t.lua": Self.workflow("rows", """
                return step.run("rows", function()
                  db.exec("INSERT INTO effects (run_id, what) VALUES ($1, 'kept')", ctx.run_id)
                  local ok, err = pcall(db.tx, function()
                    db.exec("INSERT INTO effects (run_id, what) VALUES ($1, 'undone')", ctx.run_id)
                    db.exec("INSERT INTO nope VALUES (1)")
                  end)
                  local n = db.tx(function()
                    return db.exec("INSERT INTO effects (run_id, what) VALUES ($1, 'block')", ctx.run_id)
                  end)
                  local swallowed_ok, swallowed = pcall(db.tx, function() pcall(db.exec, "INSERT INTO nope VALUES (2)") end)
                  return { ok = ok, err = tostring(err), n = n, swallowed = swallowed_ok, why = tostring(swallowed) }
                end)
                """),
            "m.lua": Self.mate,
        ], setupSQL: Self.effects)
        try h.load()
        try h.send("test/rows")
        try h.send("test/mate")
        try h.drain()
        try Self.mateCompleted(h)
        let run = try h.onlyRun("rows")
        #expect(run["status"].stringValue == "completed", "\(h.error(run) ?? .null)")
        let out = try #require(h.output(run))
        #expect(out["ok"] == false)
        #expect(out["err"]?.stringValue?.contains("relation \"nope\" does not exist") == true)
        #expect(out["n"] == 1)
        #expect(out["swallowed"] == false)
        #expect(out["why"]?.stringValue?.contains("caught and the block carried on") == true)
        let kept = try h.conn.query("SELECT what FROM effects WHERE what <> 'mate' ORDER BY what").rows.compactMap { $0["what"].stringValue }
        #expect(kept == ["block", "kept"])
    }

    @Test("SET LOCAL is allowed, and no session setting a run makes reaches the next run on the connection")
    func sessionStateIsReset() throws {
        let h = try Harness(scripts: [
            "s.lua": Self.workflow("setter", """
                return step.run("set", function()
                  db.exec("SET LOCAL application_name = 'local-one'")
                  db.one("SELECT set_config('application_name', 'leaked', false)")
                  db.one("SELECT set_config('search_path', 'pg_catalog', false)")
                  return db.one("SELECT current_setting('application_name') AS v").v
                end)
                """),
            "r.lua": Self.workflow("reader", """
                return step.run("read", function()
                  return db.one("SELECT current_setting('application_name') AS a, current_setting('search_path') AS s")
                end)
                """),
        ])
        try h.load()
        try h.send("test/setter")
        try h.send("test/reader")
        try h.drain()
        let setter = try h.onlyRun("setter")
        #expect(setter["status"].stringValue == "completed")
        let reader = try h.onlyRun("reader")
        #expect(reader["status"].stringValue == "completed", "\(h.error(reader) ?? .null)")
        #expect(h.output(reader)?["a"]?.stringValue == "blacklight")
        #expect(h.output(reader)?["s"]?.stringValue?.contains("public") == true)
    }

    @Test("regression: coroutine.yield inside step.run fails the run and undoes the step's writes")
    func yieldInsideStep() throws {
        let h = try Harness(scripts: [
            "y.lua": Self.workflow("yielder", """
                return step.run("y", function()
                  db.exec("INSERT INTO effects (run_id, what) VALUES ($1, 'yield')", ctx.run_id)
                  coroutine.yield("park")
                  return 1
                end)
                """),
            "m.lua": Self.mate,
        ], setupSQL: Self.effects)
        try h.load()
        try h.send("test/yielder")
        try h.send("test/mate")
        try h.drain()
        try Self.mateCompleted(h)
        let run = try h.onlyRun("yielder")
        #expect(run["status"].stringValue == "failed")
        #expect(h.error(run)?["message"]?.stringValue?.contains("coroutine.yield is not allowed") == true)
        #expect(try h.scalar("SELECT count(*) FROM effects WHERE what = 'yield'").intValue == 0)
        let step = try #require(try h.steps(run["id"].stringValue ?? "").first)
        #expect(step["status"].stringValue == "failed")
    }

    @Test("regression: step.sleep_until with a time past year 9999 fails the run instead of trapping")
    func sleepUntilOverflow() throws {
        let h = try Harness(scripts: [
            "s.lua": Self.workflow("far", "step.sleep_until('s', 9223978307200)"),
            "m.lua": Self.mate,
        ], setupSQL: Self.effects)
        try h.load()
        try h.send("test/far")
        try h.send("test/mate")
        try h.drain()
        try Self.mateCompleted(h)
        let run = try h.onlyRun("far")
        #expect(run["status"].stringValue == "failed")
        #expect(h.error(run)?["message"]?.stringValue?.contains("9223978307200 s since 1970 is after the year 9999") == true)
    }

    @Test("a step output with a NUL character round-trips, and a bad value in one run's results fails that run alone")
    func unstorableResults() throws {
        let h = try Harness(scripts: [
            "n.lua": Self.workflow("nul", "return step.run('s', function() return { text = 'a\\0b' } end)"),
            "m.lua": Self.mate,
        ], setupSQL: Self.effects)
        try h.load()
        try h.send("test/nul")
        try h.send("test/mate")
        try h.drain()
        try Self.mateCompleted(h)
        let run = try h.onlyRun("nul")
        #expect(run["status"].stringValue == "completed", "\(h.error(run) ?? .null)")
        #expect(h.output(run)?["text"]?["$bin"]?.stringValue == "YQBi")
    }

    @Test("an extension's SQL goes through the step's savepoint: undone with a failing step, its error ends that step alone")
    func extensionSQLInStepSavepoint() throws {
        let h = try Harness(scripts: [
            "e.lua": Self.workflow("ext", """
                step.run("insert-then-fail", function()
                  probe.insert(ctx.run_id)
                  error("boom")
                end)
                """),
            "b.lua": Self.workflow("extbad", """
                return step.run("bad", function()
                  pcall(probe.bad)
                  return 1
                end)
                """),
            "m.lua": Self.mate,
        ], setupSQL: Self.effects)
        h.services.extensions = [ProbeExtension()]
        try h.load()
        try h.send("test/ext")
        try h.send("test/extbad")
        try h.send("test/mate")
        try h.drain()
        try Self.mateCompleted(h)
        #expect(try h.onlyRun("ext")["status"].stringValue == "failed")
        #expect(try h.scalar("SELECT count(*) FROM effects WHERE what = 'probe'").intValue == 0)
        let bad = try h.onlyRun("extbad")
        #expect(bad["status"].stringValue == "failed")
        let message = h.error(bad)?["message"]?.stringValue ?? ""
        #expect(message.contains("step 'bad' caught a SQL error") && message.contains("probe_nope"), "\(message)")
    }

    @Test("an error table prints its message with tostring and in on_failure")
    func errorTablesPrint() throws {
        let h = try Harness(scripts: ["p.lua": """
            return workflow {
              id = "printer",
              triggers = { { event = "test/printer" } },
              retries = 0,
              run = function(ctx, step)
                local ok, err = pcall(step.run, "inner", function() error("kaput", 0) end)
                local shown = step.run("show", function() return tostring(err) .. " | " .. ("x: " .. err) end)
                error(step.non_retriable("final: " .. shown))
              end,
              on_failure = function(ctx, err)
                return step.run("note", function() return "handled " .. tostring(err) end)
              end,
            }
            """])
        try h.load()
        try h.send("test/printer")
        try h.drain(until: 10) { try h.runs(function: "printer").contains { $0["kind"].stringValue == "on_failure" && $0["status"].stringValue == "completed" } }
        let runs = try h.runs(function: "printer")
        let main = try #require(runs.first { $0["kind"].stringValue == "run" })
        #expect(h.error(main)?["message"]?.stringValue == "final: kaput | x: kaput")
        let handler = try #require(runs.first { $0["kind"].stringValue == "on_failure" })
        #expect(h.output(handler)?.stringValue == "handled final: kaput | x: kaput")
    }
}

/// A test extension whose functions write through `HostExtensionContext.database`.
struct ProbeExtension: HostExtension {
    func install(into context: HostExtensionContext) throws {
        let database = context.database
        context.vm.setGlobalTable("probe", functions: [
            "insert": { args in
                let id = try args.string(1, name: "probe.insert")
                _ = try database.run("probe.insert") { conn in
                    try conn.exec("INSERT INTO effects (run_id, what) VALUES ($1, 'probe')", [.text(id)])
                }
                return []
            },
            "bad": { _ in
                _ = try database.run("probe.bad") { conn in try conn.exec("SELECT * FROM probe_nope") }
                return []
            },
        ])
    }
}
