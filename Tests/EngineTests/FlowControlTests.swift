import BlacklightCore
import Foundation
import PGStore
import Testing
import TestSupport
@testable import Engine

/// Flow-control declarations (issue 11), decided in SQL at ingest; where workers matter, two `blacklight worker`
/// processes share the database (one thread and one run per claim each, so claims interleave).
@Suite("Flow control", .serialized)
struct FlowControlTests {
    static func workers(_ h: Harness) throws -> [ProcessTests.Child] {
        let args = ["worker", "--database-url", h.url, "--dir", h.root.path, "--workers", "1", "--batch-size", "1"]
        return [try ProcessTests.Child(args), try ProcessTests.Child(args)]
    }

    static func send(_ h: Harness, _ name: String, _ datas: [JSONValue]) throws {
        _ = try EventStore().send(datas.map { EventStore.Event(name: name, data: $0) }, conn: h.conn)
    }

    /// (event data, started_at, and the slot from `slots` by run id, in epoch seconds) of a function's runs, by start.
    static func starts(_ h: Harness, _ function: String, slots: [String: Double] = [:]) throws -> [(data: JSONValue, started: Double, runAt: Double)] {
        try h.conn.query("""
            SELECT r.id, e.data, extract(epoch FROM r.started_at)::float8 AS started
            FROM blacklight.runs r JOIN blacklight.events e ON e.id = r.event_id
            WHERE r.function_id = $1 ORDER BY r.started_at, r.id
            """, [.text(function)]).rows.map {
            (try JSONValue.parse($0["data"].jsonText ?? "{}"), $0["started"].doubleValue ?? 0, slots[$0["id"].stringValue ?? ""] ?? 0)
        }
    }

    @Test("a trigger expression selects events in ingest_event and ingest_events alike, and SQL agrees with Swift")
    func triggerExpressions() throws {
        let h = try Harness(scripts: ["big.lua": """
            return workflow {
              id = "big-scrapes",
              triggers = { { event = "pay/made", expression = "event.data.amount > 100 && event.data.source == 'scraper'" } },
              run = function(ctx, step) return ctx.event.data.n end,
            }
            """])
        #expect(try h.load().errors.isEmpty)
        try Self.send(h, "pay/made", [
            ["n": 1, "amount": 150, "source": "scraper"], ["n": 2, "amount": 50, "source": "scraper"],
            ["n": 3, "amount": 150, "source": "manual"], ["n": 4, "amount": "lots", "source": "scraper"],
        ])
        try h.send("pay/made", ["n": 5, "amount": 101.5, "source": "scraper"])
        try h.send("pay/made", ["n": 6, "source": "scraper"])
        try h.drain()
        let outputs = try h.runs(function: "big-scrapes").compactMap { h.output($0) }
        #expect(outputs == [1, 5])

        let docs: [JSONValue] = [
            ["name": "x", "data": ["a": 1, "s": "v", "t": ["p", "q"], "o": ["k": .null], "b": true]],
            ["name": "y", "data": ["a": "1", "s": 2.5, "t": [], "b": false]],
            ["name": "x", "data": [:]],
        ]
        let expressions = [
            "event.data.a == 1", "event.data.a != 1", "!(event.data.a == 1)", "event.data.s > 'u'", "event.data.s < 3",
            "event.data.t == 'q'", "event.data.o.k == null", "event.data.o.k != 0", "event.data.b", "!event.data.b",
            "event.name == 'x' || event.data.a > 0", "event.data.a > 0 && event.name == 'y'",
            "(event.data.a == 1 ? event.data.s : event.data.a) == 'v'", "event.data.s > 1 ? false : true",
            "event.data.missing == null", "1 < 2 && 'a' < 'b' && true",
        ]
        for text in expressions {
            let e = try FlowExpression(parsing: text)
            for doc in docs {
                let sql = try h.scalar("SELECT coalesce(jsonb_path_match($1::jsonb, $2::jsonpath, '{}', true), false)",
                                       [.json(doc.serialized()), .text(try e.jsonPathPredicate())]).boolValue
                #expect(sql == e.matches(.init(event: doc)), "\(text) on \(doc.serialized())")
            }
        }
    }

    @Test("priority moves runs ahead of runs queued earlier, through both ingest paths, with two workers")
    func priorityOrder() throws {
        let h = try Harness(scripts: ["prio.lua": """
            return workflow {
              id = "prio",
              triggers = { { event = "job/go" } },
              priority = { run = "event.data.plan == 'enterprise' ? 120 : 0" },
              run = function(ctx, step)
                return step.run("work", function() db.one("SELECT pg_sleep(0.02)") return ctx.event.data.n end)
              end,
            }
            """])
        #expect(try h.load().errors.isEmpty)
        try Self.send(h, "job/go", (0..<10).map { ["n": .int(Int64($0)), "plan": "free"] })
        try Self.send(h, "job/go", [["n": 10, "plan": "enterprise"], ["n": 11, "plan": "enterprise"]])
        try h.send("job/go", ["n": 12, "plan": "enterprise"])
        try h.send("job/go", ["n": 13, "plan": "enterprise"])
        let offsets = try h.conn.query("""
            SELECT (e.data ->> 'plan') AS plan, extract(epoch FROM r.created_at - r.run_at)::float8 AS ahead
            FROM blacklight.runs r JOIN blacklight.events e ON e.id = r.event_id
            """).rows
        for row in offsets {
            let ahead = row["ahead"].doubleValue ?? -1
            if row["plan"].stringValue == "enterprise" { #expect(ahead > 119 && ahead < 121) } else { #expect(ahead > -1 && ahead < 1) }
        }
        let procs = try Self.workers(h)
        defer { procs.forEach { $0.terminate() } }
        try Poll.until("every run completed") {
            try h.scalar("SELECT count(*) FROM blacklight.runs WHERE status = 'completed'").intValue == 14
        }
        // Without priority the four enterprise runs, queued last, would start last. Two workers claim side by
        // side, so a free run may start next to the last enterprise ones: all four are among the first six.
        let order = try Self.starts(h, "prio").map { $0.data["plan"]?.stringValue ?? "" }
        #expect(Array(order.prefix(6)).filter { $0 == "enterprise" }.count == 4, "\(order)")
    }

    @Test("singleton skip: a second event for a key with an unfinished run is recorded as skipped; the key frees when the run ends")
    func singletonSkip() throws {
        let h = try Harness(scripts: ["one.lua": """
            return workflow {
              id = "one-per-candidate",
              triggers = { { event = "cand/go" } },
              singleton = { key = "event.data.candidate_id", mode = "skip" },
              run = function(ctx, step)
                step.wait_for_event("release", { event = "cand/release", timeout = "1h" })
                return ctx.event.data.n
              end,
            }
            """])
        #expect(try h.load().errors.isEmpty)
        let procs = try Self.workers(h)
        defer { procs.forEach { $0.terminate() } }
        try h.send("cand/go", ["candidate_id": 1, "n": 1])
        try Poll.until("the first run waits") { try h.scalar("SELECT count(*) FROM blacklight.runs WHERE status = 'waiting'").intValue == 1 }
        try Self.send(h, "cand/go", [["candidate_id": 1, "n": 2], ["candidate_id": 2, "n": 3]])
        let skipped = try h.conn.query("""
            SELECT r.status, r.error, r.started_at FROM blacklight.runs r JOIN blacklight.events e ON e.id = r.event_id
            WHERE e.data ->> 'n' = '2'
            """).rows
        #expect(skipped.count == 1)
        #expect(skipped.first?["status"].stringValue == "cancelled")
        #expect(skipped.first.flatMap { h.error($0) }?["skipped"] == "singleton")
        #expect(skipped.first?["started_at"].isNull == true)
        try Poll.until("both keys' runs wait") { try h.scalar("SELECT count(*) FROM blacklight.runs WHERE status = 'waiting'").intValue == 2 }
        try h.send("cand/release")
        try Poll.until("both complete") { try h.scalar("SELECT count(*) FROM blacklight.runs WHERE status = 'completed'").intValue == 2 }
        try h.send("cand/go", ["candidate_id": 1, "n": 4])
        try Poll.until("a new run takes the freed key") {
            try h.scalar("SELECT count(*) FROM blacklight.runs r JOIN blacklight.events e ON e.id = r.event_id WHERE e.data ->> 'n' = '4' AND r.status = 'waiting'").intValue == 1
        }
    }

    @Test("singleton cancel: a new event cancels the running run after its step; no further step starts")
    func singletonCancel() throws {
        let h = try Harness(scripts: ["latest.lua": """
            return workflow {
              id = "latest-only",
              triggers = { { event = "cand/update" } },
              singleton = { key = "event.data.candidate_id", mode = "cancel" },
              run = function(ctx, step)
                -- transaction = false: the batch commits before this step, so the cancel does not wait for the
                  -- whole run (see the singleton note in README.md).
                step.run("one", { transaction = false }, function()
                  db.one("SELECT nextval('entered_one')")
                  if ctx.event.data.n == 1 then db.one("SELECT pg_sleep(0.5)") end
                  return 1
                end)
                return step.run("two", function()
                  db.exec("INSERT INTO effects (n) VALUES ($1)", ctx.event.data.n)
                  return 2
                end)
              end,
            }
            """], setupSQL: "CREATE TABLE effects (n int); CREATE SEQUENCE entered_one;")
        #expect(try h.load().errors.isEmpty)
        let procs = try Self.workers(h)
        defer { procs.forEach { $0.terminate() } }
        let first = try h.send("cand/update", ["candidate_id": 7, "n": 1])
        // Sequences are not transactional: the first run is inside step one now.
        try Poll.until("the first run is in step one") {
            try h.scalar("SELECT last_value FROM entered_one WHERE is_called").intValue == 1
        }
        try h.send("cand/update", ["candidate_id": 7, "n": 2])
        try Poll.until("the second run completes") {
            try h.scalar("SELECT count(*) FROM blacklight.runs WHERE status = 'completed'").intValue == 1
        }
        let firstRun = try h.conn.query("SELECT id, status, error FROM blacklight.runs WHERE event_id = $1", [.text(first)]).rows[0]
        #expect(firstRun["status"].stringValue == "cancelled")
        #expect(h.error(firstRun)?["singleton_key"] == "7")
        let firstSteps = try h.steps(firstRun["id"].stringValue ?? "")
        // Step one ran to its end (its sleep finished); the cancel took the run's lease, so nothing of it is written
        // and step two never starts.
        #expect(!firstSteps.contains { $0["key"].stringValue == "two" })
        #expect(try h.conn.query("SELECT n FROM effects ORDER BY n").rows.map { $0["n"].intValue } == [2])
    }

    @Test("throttle: runs of a key start in order at most limit per period; keys are independent; burst starts at once")
    func throttleRate() throws {
        let h = try Harness(scripts: ["slow.lua": """
            return workflow {
              id = "throttled",
              triggers = { { event = "t/go" } },
              throttle = { limit = 2, period = "1s", key = "event.data.tenant" },
              run = function(ctx, step) return step.run("work", function() return ctx.event.data.n end) end,
            }
            """, "burst.lua": """
            return workflow {
              id = "bursty",
              triggers = { { event = "t/burst" } },
              throttle = { limit = 1, period = "1m", burst = 2 },
              run = function(ctx, step) return 1 end,
            }
            """])
        #expect(try h.load().errors.isEmpty)
        try Self.send(h, "t/go", (0..<6).map { ["tenant": "a", "n": .int(Int64($0))] } + [["tenant": "b", "n": 100]])
        try h.send("t/go", ["tenant": "a", "n": 6])
        try h.send("t/go", ["tenant": "b", "n": 101])
        // Burst: three slots at once, then one a minute (asserted on the assigned slots; nothing runs them).
        try Self.send(h, "t/burst", Array(repeating: [:], count: 5))
        let burst = try h.conn.query("""
            SELECT extract(epoch FROM run_at - min(run_at) OVER ())::float8 AS d FROM blacklight.runs WHERE function_id = 'bursty' ORDER BY run_at
            """).rows.map { ($0["d"].doubleValue ?? -1).rounded() }
        #expect(burst == [0, 0, 0, 60, 120])

        // The slots are the run_at ingest assigned; the claim overwrites run_at (lease expiry), so read them now.
        var slots: [String: Double] = [:]
        for row in try h.conn.query("SELECT id, extract(epoch FROM run_at)::float8 AS s FROM blacklight.runs WHERE function_id = 'throttled'").rows {
            slots[row["id"].stringValue ?? ""] = row["s"].doubleValue
        }
        let procs = try Self.workers(h)
        defer { procs.forEach { $0.terminate() } }
        try Poll.until("every throttled run completed") {
            try h.scalar("SELECT count(*) FROM blacklight.runs WHERE function_id = 'throttled' AND status = 'completed'").intValue == 9
        }
        let all = try Self.starts(h, "throttled", slots: slots)
        let a = all.filter { $0.data["tenant"] == "a" }
        #expect(a.map { $0.data["n"]?.intValue ?? -1 } == [0, 1, 2, 3, 4, 5, 6], "runs of a key start in arrival order")
        let t0 = a[0].runAt
        for (k, run) in a.enumerated() {
            // Emission interval period/limit = 0.5 s: the k-th run's slot is k * 0.5 s after the first, and it
            // starts at or after its slot (the claim takes only runs whose run_at has passed).
            #expect(abs(run.runAt - t0 - Double(k) * 0.5) < 0.05, "slot of run \(k): \(run.runAt - t0)")
            #expect(run.started >= run.runAt, "run \(k) started before its slot")
        }
        let b = all.filter { $0.data["tenant"] == "b" }
        #expect(b.count == 2)
        #expect(b[0].runAt - t0 < 0.5, "another key does not queue behind tenant a")
        #expect(b[1].runAt - b[0].runAt > 0.45, "the second run of tenant b waits for its own slot")
    }

    @Test("bad flow-control declarations are load errors with file and line")
    func loadErrors() throws {
        func script(_ id: String, _ decl: String) -> String {
            "-- \(id)\n\nreturn workflow {\n  id = \"\(id)\",\n  triggers = { { event = \"x\" } },\n  \(decl),\n  run = function() end,\n}\n"
        }
        let h = try Harness(scripts: [
            "period.lua": script("period", "throttle = { limit = 1, period = \"1x\" }"),
            "limit.lua": script("limit", "throttle = { limit = 0, period = \"1m\" }"),
            "field.lua": script("field", "throttle = { limit = 1, period = \"1m\", every = 2 }"),
            "prio.lua": script("prio", "priority = { run = \"event.data.plan = 'x' ? 1 : 0\" }"),
            "mode.lua": script("mode", "singleton = { key = \"event.data.c\", mode = \"replace\" }"),
            "key.lua": script("key", "singleton = { key = \"event.data.c == 1\" }"),
            "async.lua": script("async", "priority = { run = \"async.data.x\" }"),
            "trig.lua": "return workflow {\n  id = \"trig\",\n  triggers = { { event = \"x\", expression = \"event.data.a >\" } },\n  run = function() end,\n}\n",
        ])
        let result = try h.load()
        #expect(result.workflows.isEmpty)
        let errors = Dictionary(uniqueKeysWithValues: result.errors.map { ($0.file, $0) })
        let expected: [String: (Int, String)] = [
            "period": (3, "workflow 'period': throttle.period: "),
            "limit": (3, "workflow 'limit': throttle.limit must be an integer from 1 to 1000000"),
            "field": (3, "workflow 'field': throttle has an unknown field 'every' (known: limit, period, key, burst)"),
            "prio": (3, "workflow 'prio': priority.run: invalid expression at column 17: unexpected character '=' (use '==' to compare)"),
            "mode": (3, "workflow 'mode': singleton.mode must be \"skip\" or \"cancel\""),
            "key": (3, "workflow 'key': singleton.key must be a path under event.data, like \"event.data.tenant_id\""),
            "async": (3, "workflow 'async': priority.run: 'async' is only defined in waits"),
            "trig": (1, "workflow 'trig': trigger #1 expression: invalid expression at column 15: expected a value, found the end"),
        ]
        for (id, (line, prefix)) in expected {
            let error = errors["scripts/\(id).lua"]
            #expect(error?.line == line, "\(id): \(String(describing: error))")
            #expect(error?.message.hasPrefix(prefix) == true, "\(id): \(String(describing: error))")
        }
    }
}
