import BlacklightCore
import Foundation
import PGStore
import Testing
import TestSupport
@testable import Engine

@Suite("Durable steps")
struct StepMemoTests {
    static let counters = """
        CREATE TABLE effects (id serial PRIMARY KEY, run_id text, step text);
        CREATE TABLE flaky (run_id text PRIMARY KEY, failures int NOT NULL DEFAULT 0);
        """

    @Test("a completed step is not executed again when a later step fails and the run retries")
    func memoizedStepsAreNotReExecuted() throws {
        let h = try Harness(scripts: ["two.lua": """
            return workflow {
              id = "two-steps",
              triggers = { { event = "test/two" } },
              retries = 2,
              run = function(ctx, step)
                local a = step.run("first", function()
                  db.exec("INSERT INTO effects (run_id, step) VALUES ($1, 'first')", ctx.run_id)
                  return 41
                end)
                local b = step.run("second", function()
                  db.exec("INSERT INTO effects (run_id, step) VALUES ($1, 'second')", ctx.run_id)
                  if ctx.attempt < 2 then error("transient failure") end
                  return a + 1
                end)
                return { a = a, b = b, attempt = ctx.attempt }
              end,
            }
            """], setupSQL: Self.counters)
        try h.load()
        try h.send("test/two")
        try h.drain(until: 5) { try h.onlyRun("two-steps")["status"].stringValue == "completed" }
        let run = try h.onlyRun("two-steps")
        #expect(run["status"].stringValue == "completed")
        #expect(h.output(run) == ["a": 41, "b": 42, "attempt": 2])
        let first = try h.scalar("SELECT count(*) FROM effects WHERE step = 'first'")
        let second = try h.scalar("SELECT count(*) FROM effects WHERE step = 'second'")
        #expect(first.intValue == 1)
        // The failed attempt's write was rolled back with its savepoint: only the good one remains.
        #expect(second.intValue == 1)
        let steps = try h.steps(run["id"].stringValue!)
        #expect(steps.map { $0["key"].stringValue } == ["first", "second"])
        #expect(steps[1]["attempts"].intValue == 2)
    }

    @Test("memoized values come back exactly as first returned: integers, floats, nil, nested tables")
    func memoTypesRoundTrip() throws {
        let h = try Harness(scripts: ["types.lua": """
            return workflow {
              id = "types",
              triggers = { { event = "test/types" } },
              run = function(ctx, step)
                local v = step.run("values", function()
                  return { int = 125, float = 125.0, neg = -3, big = 9007199254740993, str = "ü\\n\\"q\\"",
                           list = { 1, 2.5, "three", { deep = true } }, sparse = { [1] = "a", [3] = "c" },
                           numkeys = { [10] = "ten" }, empty = {} }
                end)
                local n = step.run("nothing", function() return nil end)
                step.sleep("pause", 0)
                -- after the sleep the run replays: v and n come from memos
                return {
                  int_type = math.type(v.int), float_type = math.type(v.float), big = v.big,
                  nil_is_nil = (n == nil), deep = v.list[4].deep, list_float = math.type(v.list[2]),
                  sparse3 = v.sparse[3], sparse2_nil = (v.sparse[2] == nil), ten = v.numkeys[10],
                  str = v.str, empty_type = type(v.empty),
                }
              end,
            }
            """])
        try h.load()
        try h.send("test/types")
        try h.drain(until: 5) { try h.onlyRun("types")["status"].stringValue == "completed" }
        let run = try h.onlyRun("types")
        #expect(run["status"].stringValue == "completed", "\(String(describing: h.error(run)))")
        #expect(h.output(run) == [
            "int_type": "integer", "float_type": "float", "big": .int(9007199254740993), "nil_is_nil": true,
            "deep": true, "list_float": "float", "sparse3": "c", "sparse2_nil": true, "ten": "ten",
            "str": "ü\n\"q\"", "empty_type": "table",
        ])
    }

    @Test("a step id repeated in a loop gets a stable suffix")
    func repeatedIDsGetSuffixes() throws {
        let h = try Harness(scripts: ["loop.lua": """
            return workflow {
              id = "loop",
              triggers = { { event = "test/loop" } },
              run = function(ctx, step)
                local total = 0
                for i = 1, 3 do total = total + step.run("add", function() return i end) end
                return total
              end,
            }
            """])
        try h.load()
        try h.send("test/loop")
        try h.drain()
        let run = try h.onlyRun("loop")
        #expect(h.output(run) == 6)
        #expect(try h.steps(run["id"].stringValue!).map { $0["key"].stringValue } == ["add", "add:1", "add:2"])
    }

    @Test("ctx.now is memoized per run so replays agree; ctx carries the event and run id")
    func contextIsStable() throws {
        let h = try Harness(scripts: ["ctx.lua": """
            return workflow {
              id = "ctx",
              triggers = { { event = "test/ctx" } },
              run = function(ctx, step)
                local first = step.run("now", function() return ctx.now:unix() end)
                step.sleep("tick", 0.05)
                return { same = (first == ctx.now:unix()), run_id = ctx.run_id, who = ctx.event.data.who,
                         name = ctx.event.name }
              end,
            }
            """])
        try h.load()
        try h.send("test/ctx", ["who": "ada"])
        try h.drain(until: 5) { try h.onlyRun("ctx")["status"].stringValue == "completed" }
        let run = try h.onlyRun("ctx")
        #expect(h.output(run) == ["same": true, "run_id": .string(run["id"].stringValue!), "who": "ada", "name": "test/ctx"])
    }

    @Test("a step with transaction = false runs outside the batch transaction and still memoizes")
    func nonTransactionalStep() throws {
        let h = try Harness(scripts: ["ntx.lua": """
            return workflow {
              id = "ntx",
              triggers = { { event = "test/ntx" } },
              run = function(ctx, step)
                local inside = step.run("external", { transaction = false }, function()
                  local a = db.one("SELECT txid_current() AS x").x
                  local b = db.one("SELECT txid_current() AS x").x
                  return a ~= b
                end)
                local after = step.run("after", function() return "ok" end)
                return { inside = inside, after = after }
              end,
            }
            """])
        try h.load()
        try h.send("test/ntx")
        try h.drain()
        let run = try h.onlyRun("ntx")
        #expect(run["status"].stringValue == "completed", "\(String(describing: h.error(run)))")
        // In autocommit each statement is its own transaction, with its own transaction id.
        #expect(h.output(run) == ["inside": true, "after": "ok"])
    }
}
