import BlacklightCore
import Foundation
import PGStore
import Testing
import TestSupport
@testable import Engine

/// The event-driven half of flow control (issue 11, migration 0008): rate limits, debounce, event batches,
/// cancel_on, step.invoke and waits with `if`. Where workers matter, two `blacklight worker` processes share the
/// database, as in FlowControlTests.
@Suite("Flow control by events", .serialized)
struct FlowControlEventTests {
    static func send(_ h: Harness, _ name: String, _ datas: [JSONValue]) throws -> [String] {
        try EventStore().send(datas.map { EventStore.Event(name: name, data: $0) }, conn: h.conn)
    }

    static func count(_ h: Harness, _ sql: String, _ params: [PGValue] = []) throws -> Int {
        Int(try h.scalar(sql, params).intValue ?? -1)
    }

    @Test("rate_limit: events over the limit of their key start no run and are recorded as skipped")
    func rateLimit() throws {
        let h = try Harness(scripts: ["rl.lua": """
            return workflow {
              id = "rate-limited",
              triggers = { { event = "cand/viewed" } },
              rate_limit = { limit = 2, period = "4h", key = "event.data.candidate_id" },
              run = function(ctx, step) return step.run("work", function() return ctx.event.data.n end) end,
            }
            """])
        #expect(try h.load().errors.isEmpty)
        let procs = try FlowControlTests.workers(h)
        defer { procs.forEach { $0.terminate() } }
        let batch = try Self.send(h, "cand/viewed", (0..<4).map { ["candidate_id": 1, "n": .int(Int64($0))] } + [["candidate_id": 2, "n": 10]])
        let single = try h.send("cand/viewed", ["candidate_id": 1, "n": 5])
        try Poll.until("the runs let through complete") {
            try Self.count(h, "SELECT count(*) FROM blacklight.runs WHERE status = 'completed'") == 3
        }
        let outputs = try h.runs(function: "rate-limited").compactMap { h.output($0)?.intValue }.sorted()
        #expect(outputs == [0, 1, 10])
        let skipped = try EventStore().skips(of: [batch[2], batch[3], single, batch[0]], conn: h.conn)
        #expect(skipped[batch[2]]?.first?.reason == "rate_limit")
        #expect(skipped[batch[3]]?.first?.reason == "rate_limit")
        #expect(skipped[single]?.first?.reason == "rate_limit")
        #expect(skipped[single]?.first?.key == "1")
        #expect(skipped[single]?.first?.functionID == "rate-limited")
        #expect(skipped[batch[0]] == nil)
        #expect(try Self.count(h, "SELECT count(*) FROM blacklight.runs") == 3, "a skipped event leaves no run")
    }

    @Test("debounce: one run per key with the last event after the quiet period; earlier events are recorded as replaced")
    func debounceLast() throws {
        let h = try Harness(scripts: ["db.lua": """
            return workflow {
              id = "debounced",
              triggers = { { event = "job/edited" } },
              debounce = { period = "2s", key = "event.data.job_id", timeout = "1m" },
              run = function(ctx, step) return step.run("work", function() return ctx.event.data.n end) end,
            }
            """])
        #expect(try h.load().errors.isEmpty)
        let procs = try FlowControlTests.workers(h)
        defer { procs.forEach { $0.terminate() } }
        let first = try Self.send(h, "job/edited", [["job_id": 1, "n": 1], ["job_id": 2, "n": 20], ["job_id": 1, "n": 2]])
        let last = try h.send("job/edited", ["job_id": 1, "n": 3])
        try Poll.until("both keys' runs complete") {
            try Self.count(h, "SELECT count(*) FROM blacklight.runs WHERE status = 'completed'") == 2
        }
        let runs = try h.runs(function: "debounced")
        #expect(runs.count == 2)
        #expect(runs.compactMap { h.output($0)?.intValue }.sorted() == [3, 20])
        let run1 = try #require(runs.first { h.output($0) == 3 })
        #expect(run1["event_id"].stringValue == last)
        // Each run started no earlier than the quiet period after its last event.
        let quiet = try h.scalar("""
            SELECT min(extract(epoch FROM r.started_at - e.received_at))::float8 FROM blacklight.runs r
            JOIN blacklight.events e ON e.id = r.event_id WHERE r.function_id = 'debounced'
            """).doubleValue ?? 0
        #expect(quiet >= 2)
        let skipped = try EventStore().skips(of: first, conn: h.conn)
        #expect(skipped[first[0]]?.first?.reason == "debounce")
        #expect(skipped[first[0]]?.first?.runID == run1["id"].stringValue)
        #expect(skipped[first[2]]?.first?.reason == "debounce")
        #expect(skipped[first[1]] == nil)
    }

    @Test("debounce timeout: events that never leave a quiet period still start a run once the timeout passes")
    func debounceTimeout() throws {
        let h = try Harness(scripts: ["dt.lua": """
            return workflow {
              id = "debounced-capped",
              triggers = { { event = "job/typed" } },
              debounce = { period = "1s", key = "event.data.job_id", timeout = "2s" },
              run = function(ctx, step) return ctx.event.data.n end,
            }
            """])
        #expect(try h.load().errors.isEmpty)
        let procs = try FlowControlTests.workers(h)
        defer { procs.forEach { $0.terminate() } }
        var n = 0
        var lastSent = Date.distantPast
        var sentAt: [Int: Date] = [:]
        // The sender keeps typing every 0.3 s (well inside the 1 s period) until a run starts.
        try Poll.until("a run starts although the events never paused") {
            if Date().timeIntervalSince(lastSent) >= 0.3 {
                n += 1
                lastSent = Date()
                sentAt[n] = lastSent
                _ = try h.send("job/typed", ["job_id": 9, "n": .int(Int64(n))])
            }
            return try Self.count(h, "SELECT count(*) FROM blacklight.runs WHERE status IN ('running','completed')") >= 1
        }
        let row = try h.conn.query("""
            SELECT r.started_at, (e.data ->> 'n')::int AS n, (SELECT min(received_at) FROM blacklight.events) AS first
            FROM blacklight.runs r JOIN blacklight.events e ON e.id = r.event_id
            WHERE r.started_at IS NOT NULL ORDER BY r.started_at LIMIT 1
            """).rows[0]
        let started = try #require(row["started_at"].dateValue)
        let first = try #require(row["first"].dateValue)
        #expect(started.timeIntervalSince(first) >= 2, "the timeout is counted from the first event")
        // The run carries the latest event sent before it started.
        let carried = Int(row["n"].intValue ?? 0)
        let later = sentAt.filter { $0.value < started && $0.key > carried }
        #expect(later.isEmpty, "run has event \(carried), but \(later.keys.sorted()) came before it started")
    }

    /// Found by `bench flow`: a debounced run whose event an ingest replaced after the claim statement took its
    /// snapshot, but before it locked the row, was claimed in its new version with an event the claim could not see,
    /// and ran with an empty `ctx.event`. The interleaving is forced: the claim's read of paused functions waits on
    /// a lock the ingest's transaction holds, so the claim's snapshot is older than the ingest's commit.
    @Test("debounce: a run whose event is replaced while a worker claims it runs with the new event")
    func debounceEventReplacedDuringTheClaim() throws {
        let h = try Harness(scripts: [
            "db.lua": """
                return workflow {
                  id = "debounced",
                  triggers = { { event = "job/edited" } },
                  debounce = { period = "1h", key = "event.data.job_id", timeout = "1h" },
                  run = function(ctx, step) return step.run("work", function() return ctx.event.data.n end) end,
                }
                """,
            "other.lua": """
                return workflow { id = "other", triggers = { { event = "other/x" } }, run = function() return 1 end }
                """,
        ])
        #expect(try h.load().errors.isEmpty)
        _ = try FunctionPause().pause("other", conn: h.conn)
        try h.send("job/edited", ["job_id": 1, "n": 1])
        // The key's first event an hour ago: the next event leaves the run due (its timeout has passed).
        try h.conn.exec("UPDATE blacklight.debounces SET first_at = now() - interval '2 hours'")
        try h.conn.exec("UPDATE blacklight.runs SET run_at = now() - interval '1 second' WHERE function_id = 'debounced'")

        /// What the ingest thread threw; read after `done` signals.
        final class ThreadError: @unchecked Sendable { var error: (any Error)? }
        let locked = DispatchSemaphore(value: 0), done = DispatchSemaphore(value: 0)
        let failure = ThreadError()
        let url = h.url
        Thread.detachNewThread {
            defer { done.signal() }
            do {
                let ingest = try PGConnection(url: url)
                try ingest.exec("BEGIN")
                try ingest.exec("SELECT 1 FROM blacklight.functions WHERE id = 'other' FOR UPDATE")
                locked.signal()
                try Poll.until("the claim to wait for the paused functions' lock") {
                    // Inside a transaction pg_stat_activity keeps its first reading unless told otherwise.
                    try ingest.exec("SELECT pg_stat_clear_snapshot()")
                    return try ingest.query("""
                        SELECT count(*) FROM pg_stat_activity
                        WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%claim_runs%'
                        """).rows.first?[0].intValue == 1
                }
                _ = try EventStore().send([EventStore.Event(name: "job/edited", data: ["job_id": 1, "n": 2])], conn: ingest)
                try ingest.exec("COMMIT")
            } catch {
                locked.signal()
                failure.error = error
            }
        }
        locked.wait()
        try h.drain()  // its first claim waits until the ingest commits
        done.wait()
        if let error = failure.error { throw error }
        let run = try h.onlyRun("debounced")
        // Before the fix: the first attempt failed ("attempt to index a nil value (field 'data')") and was retried.
        #expect(run["status"].stringValue == "completed", "\(h.error(run) ?? .null)")
        #expect(run["attempt"].intValue == 1)
        #expect(h.output(run) == 2)
    }

    @Test("batch_events: one run per full batch or per timeout, per key, with ctx.events in order")
    func batches() throws {
        let h = try Harness(scripts: ["b.lua": """
            return workflow {
              id = "batched",
              triggers = { { event = "jobs/imported" } },
              batch_events = { max_size = 3, timeout = "1s", key = "event.data.source" },
              run = function(ctx, step)
                local ns = {}
                for i, e in ipairs(ctx.events) do ns[i] = e.data.n end
                return step.run("match", function() return { source = ctx.event.data.source, ns = ns } end)
              end,
            }
            """])
        #expect(try h.load().errors.isEmpty)
        let procs = try FlowControlTests.workers(h)
        defer { procs.forEach { $0.terminate() } }
        _ = try Self.send(h, "jobs/imported", (0..<7).map { ["source": "scraper", "n": .int(Int64($0))] } + [["source": "manual", "n": 100]])
        _ = try h.send("jobs/imported", ["source": "scraper", "n": 7])
        try Poll.until("four batches complete") {
            try Self.count(h, "SELECT count(*) FROM blacklight.runs WHERE status = 'completed'") == 4
        }
        let outputs = try h.runs(function: "batched").compactMap { h.output($0) }
        let batches = outputs.map { o in (o["source"]?.stringValue ?? "", (o["ns"]?.arrayValue ?? []).compactMap(\.intValue)) }
            .sorted { ($0.0, $0.1.first ?? 0) < ($1.0, $1.1.first ?? 0) }
        #expect(batches.map(\.0) == ["manual", "scraper", "scraper", "scraper"])
        #expect(batches.map(\.1) == [[100], [0, 1, 2], [3, 4, 5], [6, 7]])
    }

    static let cancellable = """
        return workflow {
          id = "match-candidate",
          triggers = { { event = "cand/created" } },
          cancel_on = {
            { event = "cand/deleted", match = "data.candidate_id", timeout = "1h" },
            { event = "cand/purged", ["if"] = "async.data.reason == 'gdpr' && async.data.id == event.data.candidate_id" },
          },
          run = function(ctx, step)
            step.run("one", function()
              db.one("SELECT nextval('entered_one')")
              if ctx.event.data.slow then db.one("SELECT pg_sleep(1)") end
              return 1
            end)
            step.run("two", function()
              db.exec("INSERT INTO effects (n) VALUES ($1)", ctx.event.data.candidate_id)
              return 2
            end)
            step.sleep("nap", "1h")
            return 3
          end,
        }
        """

    @Test("cancel_on: a matching event cancels sleeping, queued and running runs (the running step finishes, no further step starts)")
    func cancelOn() throws {
        let h = try Harness(scripts: ["c.lua": Self.cancellable], setupSQL: "CREATE TABLE effects (n int); CREATE SEQUENCE entered_one;")
        #expect(try h.load().errors.isEmpty)
        let procs = try FlowControlTests.workers(h)
        defer { procs.forEach { $0.terminate() } }
        func status(_ candidate: Int) throws -> String {
            try h.scalar("""
                SELECT r.status FROM blacklight.runs r JOIN blacklight.events e ON e.id = r.event_id
                WHERE e.data ->> 'candidate_id' = $1
                """, [.text(String(candidate))]).stringValue ?? "none"
        }
        _ = try Self.send(h, "cand/created", [["candidate_id": 1], ["candidate_id": 2], ["candidate_id": 3]])
        try Poll.until("three runs sleep") { try Self.count(h, "SELECT count(*) FROM blacklight.runs WHERE status = 'sleeping'") == 3 }

        // match: only the run of the same candidate.
        let deleted = try h.send("cand/deleted", ["candidate_id": 1])
        #expect(try status(1) == "cancelled")
        #expect(try status(2) == "sleeping")
        let error = try h.conn.query("SELECT error FROM blacklight.runs WHERE status = 'cancelled'").rows.first.flatMap { h.error($0) }
        #expect(error?["cancelled_by_event"]?.stringValue == deleted)
        // if: the expression sees the cancelling event as async and the run's own as event.
        _ = try Self.send(h, "cand/purged", [["id": 3, "reason": "other"], ["id": 2, "reason": "gdpr"]])
        #expect(try status(2) == "cancelled")
        #expect(try status(3) == "sleeping")

        // A queued run (its function paused, so no worker takes it) is cancelled too.
        _ = try FunctionPause().pause("match-candidate", conn: h.conn)
        _ = try h.send("cand/created", ["candidate_id": 4])
        #expect(try status(4) == "queued")
        _ = try h.send("cand/deleted", ["candidate_id": 4])
        _ = try FunctionPause().resume("match-candidate", conn: h.conn)
        // At once, or (when a worker's claim was parking it at that moment) by its next claim, before any step.
        try Poll.until("the queued run is cancelled") { try status(4) == "cancelled" }

        // Running: the cancel does not wait for the step; the step finishes, step two never starts.
        let before = try Self.count(h, "SELECT last_value FROM entered_one")
        _ = try h.send("cand/created", ["candidate_id": 5, "slow": true])
        try Poll.until("the run is inside step one") { try Self.count(h, "SELECT last_value FROM entered_one") == before + 1 }
        _ = try h.send("cand/deleted", ["candidate_id": 5])
        do {
            try Poll.until("the running run ends cancelled", timeout: 15) { try status(5) == "cancelled" }
        } catch {
            let dump = try h.conn.query("SELECT r.id, r.status, r.error::text, r.locked_by, (SELECT string_agg(key || ':' || status, ',') FROM blacklight.steps s WHERE s.run_id = r.id) AS steps, (SELECT count(*) FROM blacklight.cancel_requests c WHERE c.run_id = r.id) AS req FROM blacklight.runs r").rows
            Issue.record("\(dump.map { "\($0["id"].stringValue ?? "") \($0["status"].stringValue ?? "") \($0["error"].stringValue ?? "") \($0["steps"].stringValue ?? "") req=\($0["req"].intValue ?? -1)" })")
            throw error
        }
        let run5 = try h.conn.query("""
            SELECT r.id, r.error FROM blacklight.runs r JOIN blacklight.events e ON e.id = r.event_id WHERE e.data ->> 'candidate_id' = '5'
            """).rows[0]
        let keys = try h.steps(run5["id"].stringValue ?? "").map { $0["key"].stringValue ?? "" }
        #expect(!keys.contains("two"), "\(keys)")
        #expect(h.error(run5)?["cancelled_by_event"] != nil)
        #expect(try h.conn.query("SELECT n FROM effects ORDER BY n").rows.compactMap { $0["n"].intValue } == [1, 2, 3])
    }

    static let invoking = [
        "child.lua": """
            return workflow {
              id = "child-fn",
              triggers = { { event = "child/never" } },
              retries = 0,
              run = function(ctx, step)
                if ctx.event.data.mode == "fail" then error(step.non_retriable("child broke")) end
                if ctx.event.data.mode == "hang" then step.wait_for_event("never", { event = "never/comes", timeout = "1h" }) end
                return step.run("calc", function() return ctx.event.data.x * 10 end)
              end,
            }
            """,
        "parent.lua": """
            return workflow {
              id = "parent-fn",
              triggers = { { event = "parent/go" } },
              run = function(ctx, step)
                step.run("before", function() return db.one("SELECT nextval('parent_before') AS n").n end)
                local r = step.invoke("call", { function_id = "child-fn", timeout = ctx.event.data.timeout or "1m",
                                                data = { x = ctx.event.data.x, mode = ctx.event.data.mode } })
                return r + 1
              end,
            }
            """,
    ]

    @Test("step.invoke: returns the invoked run's output, raises its error or a timeout, and is memoized")
    func invoke() throws {
        let h = try Harness(scripts: Self.invoking, setupSQL: "CREATE SEQUENCE parent_before;")
        #expect(try h.load().errors.isEmpty)
        let procs = try FlowControlTests.workers(h)
        defer { procs.forEach { $0.terminate() } }
        let ok = try h.send("parent/go", ["x": 2])
        let failing = try h.send("parent/go", ["x": 1, "mode": "fail"])
        let slow = try h.send("parent/go", ["x": 1, "mode": "hang", "timeout": "1s"])
        func parent(_ event: String) throws -> PGRow {
            try h.conn.query("SELECT * FROM blacklight.runs WHERE event_id = $1", [.text(event)]).rows[0]
        }
        try Poll.until("the three parents end") {
            try Self.count(h, "SELECT count(*) FROM blacklight.runs WHERE function_id = 'parent-fn' AND status IN ('completed','failed')") == 3
        }
        let done = try parent(ok)
        #expect(done["status"].stringValue == "completed", "\(String(describing: h.error(done)))")
        #expect(h.output(done) == 21)
        let failed = try parent(failing)
        #expect(failed["status"].stringValue == "failed")
        #expect(h.error(failed)?["message"]?.stringValue?.contains("child broke") == true)
        #expect(failed["attempt"].intValue == 1, "the invoked run's error is final: the caller does not retry it")
        let timedOut = try parent(slow)
        #expect(timedOut["status"].stringValue == "failed")
        #expect(h.error(timedOut)?["message"]?.stringValue?.contains("did not finish within 1 s") == true, "\(String(describing: h.error(timedOut)))")
        // Memoized: one child per parent, and the step before the invoke ran once per parent.
        #expect(try Self.count(h, "SELECT count(*) FROM blacklight.runs WHERE function_id = 'child-fn'") == 3)
        #expect(try Self.count(h, "SELECT count(DISTINCT invoked_by) FROM blacklight.runs WHERE function_id = 'child-fn'") == 3)
        #expect(try Self.count(h, "SELECT last_value FROM parent_before") == 3)
        let child = try h.conn.query("""
            SELECT e.name, e.data FROM blacklight.runs r JOIN blacklight.events e ON e.id = r.event_id WHERE r.invoked_by = $1
            """, [.text(done["id"].stringValue ?? "")]).rows[0]
        #expect(child["name"].stringValue == "inngest/function.invoked")
    }

    @Test("wait_for_event with if: the expression compares the awaited event (async) with the run's own (event)")
    func waitIf() throws {
        let h = try Harness(scripts: ["w.lua": """
            return workflow {
              id = "await-score",
              triggers = { { event = "job/posted" } },
              run = function(ctx, step)
                local e = step.wait_for_event("scored", { event = "job/scored", timeout = "1h",
                                                          ["if"] = "async.data.job_id == event.data.job_id && async.data.score > 5" })
                return e and e.data.score
              end,
            }
            """])
        #expect(try h.load().errors.isEmpty)
        // Arrived before the wait is reached: found by the worker's search.
        _ = try Self.send(h, "job/posted", [["job_id": 1], ["job_id": 2]])
        _ = try Self.send(h, "job/scored", [["job_id": 1, "score": 3], ["job_id": 1, "score": 7]])
        try h.drain()
        // Arrives after: matched by ingest.
        _ = try h.send("job/scored", ["job_id": 2, "score": 9])
        _ = try h.send("job/scored", ["job_id": 2, "score": 8])
        try h.drain()
        let outputs = try h.runs(function: "await-score").compactMap { h.output($0)?.intValue }.sorted()
        #expect(outputs == [7, 9])
    }

    @Test("bad rate_limit, debounce, batch_events and cancel_on declarations are load errors with file and line")
    func loadErrors() throws {
        func script(_ id: String, _ decl: String) -> String {
            "-- \(id)\n\nreturn workflow {\n  id = \"\(id)\",\n  triggers = { { event = \"x\" } },\n  \(decl),\n  run = function() end,\n}\n"
        }
        let h = try Harness(scripts: [
            "rl.lua": script("rl", "rate_limit = { limit = 0, period = \"1h\" }"),
            "rlp.lua": script("rlp", "rate_limit = { limit = 1 }"),
            "db.lua": script("db", "debounce = { period = \"1m\", timeout = \"10s\" }"),
            "be.lua": script("be", "batch_events = { max_size = 0, timeout = \"5s\" }"),
            "bx.lua": script("bx", "batch_events = { max_size = 10, timeout = \"5s\" }, rate_limit = { limit = 1, period = \"1h\" }"),
            "co.lua": script("co", "cancel_on = { { event = \"c\", match = \"candidate\" } }"),
            "ci.lua": script("ci", "cancel_on = { { event = \"c\", [\"if\"] = \"async.data.a ==\" } }"),
            "ce.lua": script("ce", "cancel_on = { { match = \"data.a\" } }"),
        ])
        let result = try h.load()
        #expect(result.workflows.isEmpty)
        let errors = Dictionary(uniqueKeysWithValues: result.errors.map { ($0.file, $0) })
        let expected: [String: String] = [
            "rl": "workflow 'rl': rate_limit.limit must be an integer from 1 to 1000000",
            "rlp": "workflow 'rlp': rate_limit.period is required",
            "db": "workflow 'db': debounce.timeout must be at least debounce.period",
            "be": "workflow 'be': batch_events.max_size must be an integer from 1 to 10000",
            "bx": "workflow 'bx': batch_events cannot be combined with rate_limit",
            "co": "workflow 'co': cancel_on[1].match must be a field under data",
            "ci": "workflow 'ci': cancel_on[1].if: invalid expression at column",
            "ce": "workflow 'ce': cancel_on[1].event must be the name",
        ]
        for (id, prefix) in expected {
            let error = errors["scripts/\(id).lua"]
            #expect(error?.line == 3, "\(id): \(String(describing: error))")
            #expect(error?.message.hasPrefix(prefix) == true, "\(id): \(String(describing: error))")
        }
    }

    @Test("prune deletes flow-control state that decides nothing any more and keeps what still does")
    func pruneFlowState() throws {
        let h = try Harness(scripts: ["c.lua": Self.cancellable, "one.lua": """
            return workflow {
              id = "one-at-a-time", triggers = { { event = "one/go" } },
              singleton = { key = "event.data.k", mode = "skip" },
              throttle = { limit = 1, period = "1s", key = "event.data.k" },
              run = function(ctx, step) return 1 end,
            }
            """], setupSQL: "CREATE TABLE effects (n int); CREATE SEQUENCE entered_one;")
        #expect(try h.load().errors.isEmpty)
        _ = try Self.send(h, "one/go", [["k": 1], ["k": 2]])
        _ = try Self.send(h, "cand/created", [["candidate_id": 1], ["candidate_id": 2]])
        try h.drain(until: 30) { try Self.count(h, "SELECT count(*) FROM blacklight.runs WHERE status IN ('completed','sleeping')") == 4 }
        _ = try h.send("cand/deleted", ["candidate_id": 1])
        try h.conn.exec("""
            UPDATE blacklight.throttle_state SET tat = CASE key WHEN '1' THEN now() - interval '1 minute' ELSE now() + interval '1 hour' END
            """)
        try Pruner().prune(olderThan: RetentionPolicy.defaultSeconds, conn: h.conn)
        #expect(try Self.count(h, "SELECT count(*) FROM blacklight.singletons") == 0, "both singleton runs ended")
        #expect(try h.conn.query("SELECT key FROM blacklight.throttle_state").rows.compactMap { $0["key"].stringValue } == ["2"],
                "the slot in the past goes; the one ahead stays")
        #expect(try Self.count(h, "SELECT count(*) FROM blacklight.cancel_ons") == 2, "the sleeping run keeps both its cancel_ons")
    }

    @Test("concurrent multi-event ingests that reach a batch's and a debounce's keys in opposite orders do not deadlock")
    func keyedIngestsDoNotDeadlock() throws {
        let h = try Harness(scripts: ["b.lua": """
            return workflow {
              id = "keyed-batch", triggers = { { event = "k/go" } },
              batch_events = { max_size = 1000, timeout = "1h", key = "event.data.k" },
              run = function(ctx, step) return #ctx.events end,
            }
            """, "d.lua": """
            return workflow {
              id = "keyed-debounce", triggers = { { event = "k/go" } },
              debounce = { period = "1h", key = "event.data.k" },
              run = function(ctx, step) return 1 end,
            }
            """])
        #expect(try h.load().errors.isEmpty)
        let url = h.url
        let failures = ErrorList()
        let group = DispatchGroup()
        for reversed in [false, true] {
            group.enter()
            Thread.detachNewThread {
                defer { group.leave() }
                do {
                    let conn = try PGConnection(url: url)
                    defer { conn.close() }
                    for _ in 0..<40 {
                        let keys = reversed ? Array((0..<6).reversed()) : Array(0..<6)
                        _ = try EventStore().send(keys.map { EventStore.Event(name: "k/go", data: ["k": .int(Int64($0))]) }, conn: conn)
                    }
                } catch {
                    failures.append("\(error)")
                }
            }
        }
        group.wait()
        #expect(failures.items.isEmpty, "\(failures.items)")
        #expect(try Self.count(h, "SELECT count(*) FROM blacklight.run_events") == 480, "every event joined its key's batch")
        #expect(try Self.count(h, "SELECT count(*) FROM blacklight.runs WHERE function_id = 'keyed-batch'") == 6)
        #expect(try Self.count(h, "SELECT count(*) FROM blacklight.runs WHERE function_id = 'keyed-debounce'") == 6)
    }
}

final class ErrorList: @unchecked Sendable {
    private let lock = NSLock()
    private var list: [String] = []
    func append(_ s: String) { lock.lock(); list.append(s); lock.unlock() }
    var items: [String] { lock.lock(); defer { lock.unlock() }; return list }
}
