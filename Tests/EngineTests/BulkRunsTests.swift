import BlacklightCore
import Foundation
import PGStore
import Testing
import TestSupport
@testable import Engine

/// Bulk cancel and replay (Engine/Control/BulkRuns.swift) against a real database.
@Suite("Bulk runs")
struct BulkRunsTests {
    static let flaky = """
        return workflow {
          id = "flaky",
          triggers = { { event = "test/flaky" } },
          retries = 0,
          run = function(ctx, step)
            return step.run("only", function()
              if ctx.event.data.fail then error("boom " .. ctx.event.data.n) end
              return ctx.event.data.n
            end)
          end,
        }
        """
    static let napper = """
        return workflow {
          id = "napper",
          triggers = { { event = "test/nap" } },
          run = function(ctx, step) step.sleep("nap", "1h") return 1 end,
        }
        """

    func count(_ h: Harness, _ sql: String) throws -> Int { Int(try h.scalar(sql).intValue ?? -1) }

    @Test("cancel: the dry run counts, the cancel takes exactly the matching runs that have not ended")
    func cancelTakesOnlyMatchingLiveRuns() throws {
        let h = try Harness(scripts: ["flaky.lua": Self.flaky, "napper.lua": Self.napper])
        try h.load()
        for n in 0..<3 { try h.send("test/nap", ["n": .int(Int64(n))]) }
        try h.send("test/flaky", ["n": 1])
        try h.drain(until: 30) { try count(h, "SELECT count(*) FROM blacklight.runs WHERE status = 'sleeping'") == 3 }
        try h.drain(until: 30) { try count(h, "SELECT count(*) FROM blacklight.runs WHERE status = 'completed'") == 1 }
        for n in 3..<5 { try h.send("test/nap", ["n": .int(Int64(n))]) }  // queued, not claimed yet
        try h.send("test/flaky", ["n": 2])

        let napper = RunFilter(function: "napper")
        #expect(try BulkRuns().countCancellable(napper, conn: h.conn) == 5)
        #expect(try BulkRuns().countCancellable(RunFilter(statuses: [.sleeping]), conn: h.conn) == 3)
        #expect(try BulkRuns().countCancellable(RunFilter(statuses: [.completed]), conn: h.conn) == 0)
        var small = BulkRuns()
        small.chunk = 2  // several chunks
        #expect(try small.cancel(napper, conn: h.conn).count == 5)
        #expect(try count(h, "SELECT count(*) FROM blacklight.runs WHERE function_id = 'napper' AND status = 'cancelled'") == 5)
        #expect(try count(h, "SELECT count(*) FROM blacklight.runs WHERE function_id = 'flaky' AND status = 'cancelled'") == 0)
        #expect(try count(h, "SELECT count(*) FROM blacklight.runs WHERE function_id = 'flaky' AND status = 'completed'") == 1)
        #expect(try BulkRuns().cancel(napper, conn: h.conn).count == 0)
        try h.drain()
        #expect(try count(h, "SELECT count(*) FROM blacklight.runs WHERE status = 'completed'") == 2)
        #expect(try count(h, "SELECT count(*) FROM blacklight.runs WHERE status = 'cancelled' AND ended_at IS NOT NULL") == 5)
    }

    @Test("cancel by event name and time range")
    func cancelByEventAndTime() throws {
        let h = try Harness(scripts: ["napper.lua": Self.napper, "flaky.lua": Self.flaky])
        try h.load()
        try h.send("test/nap")
        try h.send("test/flaky", ["n": 1])
        let now = try #require(try h.scalar("SELECT clock_timestamp()").dateValue)
        #expect(try BulkRuns().countCancellable(RunFilter(eventName: "test/flaky"), conn: h.conn) == 1)
        #expect(try BulkRuns().countCancellable(RunFilter(since: now), conn: h.conn) == 0)
        #expect(try BulkRuns().countCancellable(RunFilter(until: now), conn: h.conn) == 2)
        #expect(try BulkRuns().cancel(RunFilter(eventName: "test/nap", until: now), conn: h.conn).count == 1)
        #expect(try h.onlyRun("napper")["status"].stringValue == "cancelled")
        #expect(try h.onlyRun("flaky")["status"].stringValue == "queued")
    }

    @Test("replay: a new run per failed run, same event, paced at the rate; ended runs only, never its own new runs")
    func replayFailedRunsPaced() throws {
        let h = try Harness(scripts: ["flaky.lua": Self.flaky])
        try h.load()
        for n in 0..<7 { try h.send("test/flaky", ["n": .int(Int64(n)), "fail": .bool(n % 2 == 0)]) }
        try h.drain(until: 30) { try count(h, "SELECT count(*) FROM blacklight.runs WHERE status IN ('completed','failed')") == 7 }
        let failed = RunFilter(function: "flaky", statuses: [.failed])
        #expect(try BulkRuns().countReplayable(failed, conn: h.conn) == 4)
        #expect(try BulkRuns().countReplayable(RunFilter(function: "flaky"), conn: h.conn) == 7)
        let before = try #require(try h.scalar("SELECT clock_timestamp()").dateValue)
        var small = BulkRuns()
        small.chunk = 3
        let outcome = try small.replay(failed, rate: 10, conn: h.conn)
        #expect(outcome == BulkRuns.Outcome(count: 4, spreadSeconds: 0.3))
        // Each failed run's event has a second run now; the completed runs' events do not.
        #expect(try count(h, """
            SELECT count(*) FROM blacklight.runs r WHERE r.status = 'failed'
              AND (SELECT count(*) FROM blacklight.runs o WHERE o.event_id = r.event_id) = 2
            """) == 4)
        #expect(try count(h, "SELECT count(*) FROM blacklight.runs WHERE status = 'queued'") == 4)
        let due = try h.conn.query("SELECT run_at FROM blacklight.runs WHERE status = 'queued' ORDER BY run_at").rows.compactMap { $0["run_at"].dateValue }
        #expect(due.count == 4 && due[0] >= before)
        for (i, d) in due.enumerated() {
            let offset = d.timeIntervalSince(due[0])
            #expect(abs(offset - Double(i) * 0.1) < 0.001, "run \(i) due at +\(offset) s")
        }
        // A filter its own new runs match too (no status): only runs that ended before the call are replayed.
        #expect(try BulkRuns().replay(RunFilter(function: "flaky"), rate: nil, conn: h.conn).count == 7)
        #expect(try count(h, "SELECT count(*) FROM blacklight.runs") == 18)
        try h.drain(until: 30) { try count(h, "SELECT count(*) FROM blacklight.runs WHERE status IN ('queued','running')") == 0 }
        #expect(try count(h, "SELECT count(*) FROM blacklight.runs WHERE status = 'failed'") == 4 * 3)
    }

    @Test("replay at spare capacity: replayed runs wait parked; a claim takes due work first and releases only the room it has left")
    func replayAtSpareCapacity() throws {
        let h = try Harness(scripts: ["flaky.lua": Self.flaky])
        try h.load()
        for n in 0..<12 { try h.send("test/flaky", ["n": .int(Int64(n)), "fail": true]) }
        try h.drain(until: 30) { try count(h, "SELECT count(*) FROM blacklight.runs WHERE status = 'failed'") == 12 }
        let outcome = try BulkRuns().replay(RunFilter(function: "flaky", statuses: [.failed]), conn: h.conn)
        #expect(outcome == BulkRuns.Outcome(count: 12, spreadSeconds: nil))
        #expect(try count(h, "SELECT count(*) FROM blacklight.runs WHERE status = 'queued' AND run_at = 'infinity' AND idle_priority") == 12)
        // A new event's run is due; a claim of 5 takes it and releases 4 replayed runs (the oldest) into the room left.
        let fresh = try h.send("test/flaky", ["n": 100, "fail": false])
        let claimed = try h.conn.query("SELECT id, event ->> 'id' AS event FROM blacklight.claim_runs(5, 'test-token', 30)").rows
        #expect(claimed.map { $0["event"].stringValue } == [fresh])
        #expect(try count(h, "SELECT count(*) FROM blacklight.runs WHERE idle_priority AND status = 'queued' AND run_at < 'infinity'") == 4)
        let released = try h.conn.query("""
            SELECT (SELECT min(id) FROM blacklight.runs o WHERE o.event_id = r.event_id) AS original FROM blacklight.runs r
            WHERE r.idle_priority AND r.run_at < 'infinity' ORDER BY 1
            """).rows.compactMap { $0["original"].stringValue }
        let oldest = try h.conn.query("""
            SELECT id FROM blacklight.runs WHERE status = 'failed' AND NOT idle_priority ORDER BY id LIMIT 4
            """).rows.compactMap { $0["id"].stringValue }
        #expect(released == oldest, "released in the order of the runs replayed")
        try h.conn.exec("UPDATE blacklight.runs SET status = 'queued', locked_by = NULL, run_at = clock_timestamp() WHERE locked_by = 'test-token'")
        try h.drain(until: 30) { try count(h, "SELECT count(*) FROM blacklight.runs WHERE status IN ('queued','running')") == 0 }
        #expect(try count(h, "SELECT count(*) FROM blacklight.runs WHERE idle_priority AND status = 'failed'") == 12, "every replayed run ran")
    }

    @Test("filters are checked: an unknown status and a bad time are refused by name")
    func filterValidation() throws {
        #expect(throws: EngineError(.badInput, "unknown status 'done': use one of queued, running, sleeping, waiting, completed, failed, cancelled",
                                    context: "status")) {
            try RunFilter.parse(status: "failed,done")
        }
        #expect(throws: EngineError(.badInput, "'since' must be an ISO 8601 time (2026-01-31T12:00:00Z), a date (2026-01-31) or milliseconds since 1970",
                                    context: "since")) {
            try RunFilter.parse(since: "yesterday")
        }
        #expect(throws: EngineError(.badInput, "'since' must be before 'until'", context: "since")) {
            try RunFilter.parse(since: "2026-11-02", until: "2026-11-01")
        }
        let f = try RunFilter.parse(function: "", status: "failed,cancelled", since: "2026-11-01")
        #expect(f.function == nil && f.statuses == [.failed, .cancelled])
        #expect(f.since == Date(timeIntervalSince1970: 1_793_491_200))
        #expect(RunFilter().isEmpty && !f.isEmpty)
    }
}
