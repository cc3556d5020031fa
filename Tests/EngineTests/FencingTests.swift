import BlacklightCore
import Foundation
import PGStore
import Testing
import TestSupport
@testable import Engine

/// Leases fence every write: a worker that lost a run cannot write it, and an attempt is counted at claim so a
/// run that keeps stopping its worker ends failed.
@Suite("Leases, fencing and poison runs")
struct FencingTests {
    static let effects = "CREATE TABLE effects (run_id text NOT NULL, attempt int NOT NULL, what text NOT NULL)"

    /// Attempt 1 of each run blocks in a `transaction = false` step on advisory lock 42 (held by the test) long
    /// past its lease; later attempts skip it. Every attempt then records one effect.
    static let slow = """
        return workflow {
          id = "slow",
          triggers = { { event = "test/slow" } },
          retries = 3,
          run = function(ctx, step)
            if ctx.attempt == 1 then
              step.run("wait", { transaction = false }, function()
                db.one("SELECT pg_advisory_lock(42)")
                db.one("SELECT pg_advisory_unlock(42)")
                return "waited"
              end)
            end
            return step.run("effect", function()
              return db.exec("INSERT INTO effects (run_id, attempt, what) VALUES ($1, $2, 'effect')", ctx.run_id, ctx.attempt)
            end)
          end,
        }
        """

    @Test("regression: a step slower than the lease cannot make its batch-mates run twice; the worker that lost them writes nothing")
    func slowStepLeaseCase() throws {
        let h = try Harness(scripts: ["slow.lua": Self.slow], setupSQL: Self.effects)
        h.settings.leaseSeconds = 1
        h.settings.maxBatchSeconds = 0
        try h.load()
        for _ in 0..<3 { try h.send("test/slow") }
        let lockHolder = try PGConnection(url: h.url)
        try lockHolder.exec("SELECT pg_advisory_lock(42)")

        // Worker A (no heartbeat, as if cut off) claims all three and blocks in the first run's slow step.
        let finishedA = Completion()
        let (url, settings, services) = (h.url, h.settings, h.services)
        let threadA = Thread {
            let workerA = InProcessWorker(url: url, settings: settings, services: services)
            finishedA.finish(Result { try workerA.runBatch() })
        }
        threadA.start()
        try Poll.until("worker A blocked in its slow step") {
            try h.scalar("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted").intValue == 1
        }
        try Poll.until("every lease of worker A expired") {
            try h.scalar("SELECT count(*) FROM blacklight.runs WHERE status = 'running' AND run_at < now()").intValue == 3
        }
        // Worker B takes them over: a new attempt each, and all complete.
        let workerB = InProcessWorker(url: h.url, settings: h.settings, services: h.services)
        try workerB.drain()
        #expect(try h.runs(function: "slow").allSatisfy { $0["status"].stringValue == "completed" })
        // A wakes up and must write nothing for runs it lost.
        try lockHolder.exec("SELECT pg_advisory_unlock(42)")
        let claimedByA = try finishedA.wait().get()
        #expect(claimedByA == 3)
        let runs = try h.runs(function: "slow")
        #expect(runs.count == 3)
        for run in runs {
            #expect(run["status"].stringValue == "completed")
            #expect(run["attempt"].intValue == 2)
            #expect(run["locked_by"] == .null)
        }
        // Each effect applied once, by worker B's attempt.
        #expect(try h.scalar("SELECT count(*) FROM effects").intValue == 3)
        #expect(try h.scalar("SELECT count(*) FROM effects WHERE attempt = 2").intValue == 3)
        #expect(try h.scalar("SELECT count(*) FROM blacklight.steps WHERE key = 'wait'").intValue == 0)
        lockHolder.close()
    }

    @Test("a mid-batch commit extends the leases of the runs not executed yet, so no other worker can claim them")
    func midBatchCommitKeepsLeases() throws {
        let h = try Harness(scripts: ["q.lua": """
            return workflow {
              id = "quick",
              triggers = { { event = "test/quick" } },
              run = function(ctx, step)
                return step.run("one", function() return db.one("SELECT 1 AS one").one end)
              end,
            }
            """])
        h.settings.leaseSeconds = 120
        h.settings.maxBatchSeconds = 0
        try h.load()
        for _ in 0..<3 { try h.send("test/quick") }
        // Claim, then commit mid-way before the first run, as a long batch does.
        let conn = try PGConnection(url: h.url)
        let fence = Fence(token: "test#1", seconds: 120)
        let claimed = try conn.query(ClaimQueries.claim, [.int(10), .text(fence.token), .double(1)]).rows.map(ClaimedRun.init(row:))
        #expect(claimed.count == 3)
        let batch = Batch(conn: conn, fence: fence)
        batch.pending = Set(claimed.map(\.id))
        try batch.begin()
        try batch.checkpoint()
        // The claim gave a 1 s lease; the commit extended it to 120 s and the new transaction locks the rows.
        #expect(try h.scalar("SELECT count(*) FROM blacklight.runs WHERE run_at > now() + interval '60 seconds'").intValue == 3)
        #expect(batch.pending.count == 3)
        let other = InProcessWorker(url: h.url, settings: h.settings, services: h.services)
        #expect(try other.runBatch() == 0)
        batch.rollback()
        conn.close()
    }

    @Test("an attempt is counted at claim: a run whose worker stops during it every time ends failed with a message that says so")
    func poisonRunFailsAfterItsAttempts() throws {
        let h = try Harness(scripts: ["p.lua": """
            return workflow {
              id = "poison",
              triggers = { { event = "test/poison" } },
              retries = 2,
              run = function(ctx, step) return step.run("s", function() return ctx.attempt end) end,
              on_failure = function(ctx, err) return err.message end,
            }
            """])
        try h.load()
        try h.send("test/poison")
        let id = try #require(try h.onlyRun("poison")["id"].stringValue)
        // Three claims whose worker "dies" (never writes back): each lease expires with the run still locked.
        for attempt in 1...3 {
            let conn = try PGConnection(url: h.url)
            let rows = try conn.query(ClaimQueries.claim, [.int(10), .text("dead#\(attempt)"), .double(30)]).rows
            #expect(rows.count == 1)
            #expect(rows.first?["attempt"].intValue == Int64(attempt))
            try conn.exec("UPDATE blacklight.runs SET run_at = now() - interval '1 second' WHERE id = $1", [.text(id)])
            conn.close()
        }
        try h.drain(until: 10) { try h.runs(function: "poison").contains { $0["kind"].stringValue == "on_failure" && $0["status"].stringValue == "completed" } }
        let run = try #require(try h.run(id))
        #expect(run["status"].stringValue == "failed")
        #expect(run["attempt"].intValue == 3)
        let message = h.error(run)?["message"]?.stringValue ?? ""
        #expect(message.contains("stopped its worker") && message.contains("each of its 3 attempts"), "\(message)")
        #expect(try h.steps(id).isEmpty)
        let handler = try #require(try h.runs(function: "poison").first { $0["kind"].stringValue == "on_failure" })
        #expect(h.output(handler)?.stringValue == message)
    }

    @Test("a stalled attempt with attempts left runs again as the next attempt")
    func stalledAttemptRetries() throws {
        let h = try Harness(scripts: ["p.lua": """
            return workflow {
              id = "stall",
              triggers = { { event = "test/stall" } },
              retries = 2,
              run = function(ctx, step) return step.run("s", function() return ctx.attempt end) end,
            }
            """])
        try h.load()
        try h.send("test/stall")
        let id = try #require(try h.onlyRun("stall")["id"].stringValue)
        let conn = try PGConnection(url: h.url)
        _ = try conn.query(ClaimQueries.claim, [.int(10), .text("dead#1"), .double(30)])
        try conn.exec("UPDATE blacklight.runs SET run_at = now() - interval '1 second' WHERE id = $1", [.text(id)])
        conn.close()
        try h.drain()
        let run = try #require(try h.run(id))
        #expect(run["status"].stringValue == "completed")
        #expect(h.output(run)?.intValue == 2)
    }
}

/// Hands a result from a worker thread to the test.
final class Completion: @unchecked Sendable {
    private let condition = NSCondition()
    private var result: Result<Int, Error>?

    func finish(_ value: Result<Int, Error>) {
        condition.lock()
        result = value
        condition.broadcast()
        condition.unlock()
    }

    func wait() -> Result<Int, Error> {
        condition.lock()
        defer { condition.unlock() }
        while result == nil { condition.wait() }
        return result ?? .success(-1)
    }
}
