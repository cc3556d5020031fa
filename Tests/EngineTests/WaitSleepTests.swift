import BlacklightCore
import Foundation
import PGStore
import Testing
import TestSupport
@testable import Engine

@Suite("Sleeps and waits")
struct WaitSleepTests {
    static let waiter = """
        return workflow {
          id = "waiter",
          triggers = { { event = "test/start" } },
          run = function(ctx, step)
            step.run("before", function() return 1 end)
            if ctx.event.data.pause then step.sleep("pause", ctx.event.data.pause) end
            local ev = step.wait_for_event("approval", { event = "test/approved", match = "data.candidate_id", timeout = ctx.event.data.timeout or "1h" })
            if ev == nil then return "timed out" end
            return "approved by " .. ev.data.by
          end,
        }
        """

    @Test("a sleeping run holds no worker and completes after its time")
    func sleepParksAndWakes() throws {
        let h = try Harness(scripts: ["s.lua": """
            return workflow {
              id = "sleeper",
              triggers = { { event = "test/sleep" } },
              run = function(ctx, step)
                step.sleep("nap", "1s")
                return step.run("after", function() return "awake" end)
              end,
            }
            """])
        try h.load()
        try h.send("test/sleep")
        try h.drain()
        let parked = try h.onlyRun("sleeper")
        #expect(parked["status"].stringValue == "sleeping")
        #expect(parked["locked_by"] == .null)
        try h.drain(until: 5) { try h.onlyRun("sleeper")["status"].stringValue == "completed" }
        let run = try h.onlyRun("sleeper")
        #expect(h.output(run) == "awake")
        let slept = (run["ended_at"].dateValue ?? .distantPast).timeIntervalSince(run["created_at"].dateValue ?? .distantFuture)
        #expect(slept >= 1)
    }

    @Test("wait_for_event resumes the run with a matching event sent while it waits")
    func waitReceivesLaterEvent() throws {
        let h = try Harness(scripts: ["w.lua": Self.waiter])
        try h.load()
        try h.send("test/start", ["candidate_id": 7])
        try h.drain()
        #expect(try h.onlyRun("waiter")["status"].stringValue == "waiting")
        try h.send("test/approved", ["candidate_id": 8, "by": "someone else"])
        try h.drain()
        #expect(try h.onlyRun("waiter")["status"].stringValue == "waiting")
        try h.send("test/approved", ["candidate_id": 7, "by": "grace"])
        try h.drain()
        #expect(h.output(try h.onlyRun("waiter")) == "approved by grace")
    }

    @Test("wait_for_event sees a matching event sent after the run started but before the wait was reached")
    func waitSeesEarlierEvent() throws {
        let h = try Harness(scripts: ["w.lua": Self.waiter])
        try h.load()
        // A sleep that never ends by itself: the test wakes the run once the event is in.
        try h.send("test/start", ["candidate_id": 9, "pause": 3600])
        try h.drain()
        #expect(try h.onlyRun("waiter")["status"].stringValue == "sleeping")
        try h.send("test/approved", ["candidate_id": 9, "by": "early bird"])
        try h.wakeSleepingRuns()
        try h.drain(until: 5) { try h.onlyRun("waiter")["status"].stringValue == "completed" }
        #expect(h.output(try h.onlyRun("waiter")) == "approved by early bird")
    }

    @Test("wait_for_event returns nil after its timeout")
    func waitTimesOut() throws {
        let h = try Harness(scripts: ["w.lua": Self.waiter])
        try h.load()
        try h.send("test/start", ["candidate_id": 10, "timeout": "1s"])
        try h.drain()
        #expect(try h.onlyRun("waiter")["status"].stringValue == "waiting")
        try h.drain(until: 5) { try h.onlyRun("waiter")["status"].stringValue == "completed" }
        #expect(h.output(try h.onlyRun("waiter")) == "timed out")
        #expect(try h.scalar("SELECT count(*) FROM blacklight.waits").intValue == 0)
    }
}
