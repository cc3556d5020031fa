import BlacklightCore
import Foundation
import PGStore
import Testing
import TestSupport
@testable import Engine

/// Pause and resume a function (Engine/Control/FunctionPause.swift, the claim in Worker/ClaimQueries.swift).
@Suite("Function pause")
struct PauseTests {
    static func oneStep(_ id: String, event: String) -> String {
        """
        return workflow {
          id = "\(id)",
          triggers = { { event = "\(event)" } },
          retries = 0,
          run = function(ctx, step) return step.run("only", function() return ctx.event.data.n end) end,
        }
        """
    }

    func statuses(_ h: Harness, _ function: String) throws -> [String] {
        try h.runs(function: function).map { $0["status"].stringValue ?? "" }
    }

    @Test("events during a pause are stored and create runs that do not start; other functions run; resume starts them in order")
    func pausedRunsWaitUntilResume() throws {
        let h = try Harness(scripts: ["a.lua": Self.oneStep("paused-fn", event: "test/a"), "b.lua": Self.oneStep("other-fn", event: "test/b")])
        try h.load()
        h.settings.batchSize = 2  // several claims, so the claim itself meets the paused runs
        try h.send("test/a", ["n": 0])
        #expect(try FunctionPause().pause("paused-fn", conn: h.conn) == .done(changed: true, runs: 1))
        #expect(try FunctionPause().pause("paused-fn", conn: h.conn) == .done(changed: false, runs: 1))
        for n in 1...4 { try h.send("test/a", ["n": .int(Int64(n))]) }
        try h.send("test/b", ["n": 9])
        try h.drain(until: 30) { try statuses(h, "other-fn") == ["completed"] }
        try h.drain()
        #expect(try h.scalar("SELECT count(*) FROM blacklight.events WHERE name = 'test/a'").intValue == 5)
        #expect(try statuses(h, "paused-fn") == Array(repeating: "queued", count: 5))
        #expect(try h.scalar("SELECT count(*) FROM blacklight.runs WHERE function_id = 'paused-fn' AND started_at IS NOT NULL").intValue == 0)
        #expect(try h.scalar("SELECT count(*) FROM blacklight.runs WHERE run_at = 'infinity'").intValue == 5)

        #expect(try FunctionPause().resume("paused-fn", conn: h.conn) == .done(changed: true, runs: 5))
        try h.drain(until: 30) { try statuses(h, "paused-fn") == Array(repeating: "completed", count: 5) }
        // Back at the times they were due: they start in the order their events came.
        let started = try h.runs(function: "paused-fn").compactMap { $0["started_at"].dateValue }
        #expect(started == started.sorted())
        #expect(try FunctionPause().resume("paused-fn", conn: h.conn) == .done(changed: false, runs: 0))
        #expect(try FunctionPause().pause("nope", conn: h.conn) == .noFunction)
        #expect(try FunctionPause().resume("nope", conn: h.conn) == .noFunction)
    }

    @Test("a sleep that ends during the pause waits for the resume, then the run goes on from its memo")
    func sleepEndingDuringPauseWaits() throws {
        let h = try Harness(scripts: ["nap.lua": """
            return workflow {
              id = "nap",
              triggers = { { event = "test/nap" } },
              run = function(ctx, step)
                step.run("before", function() return 1 end)
                step.sleep("nap", 0.2)
                return step.run("after", function() return 2 end)
              end,
            }
            """])
        try h.load()
        try h.send("test/nap")
        try h.drain(until: 30) { try statuses(h, "nap") == ["sleeping"] }
        _ = try FunctionPause().pause("nap", conn: h.conn)
        let wake = try #require(try h.scalar("SELECT parked_run_at FROM blacklight.runs WHERE function_id = 'nap'").dateValue)
        try Poll.until("the sleep to end") { Date() > wake.addingTimeInterval(0.05) }
        try h.drain()
        #expect(try statuses(h, "nap") == ["sleeping"])
        _ = try FunctionPause().resume("nap", conn: h.conn)
        try h.drain(until: 30) { try statuses(h, "nap") == ["completed"] }
        #expect(try h.steps(h.onlyRun("nap")["id"].stringValue ?? "").map { $0["key"].stringValue ?? "" } == ["before", "nap", "after"])
    }

    @Test("pausing and resuming while two workers claim and events arrive leaves no run parked after the last resume")
    func pauseResumeRacesWithClaims() throws {
        let h = try Harness(scripts: ["a.lua": Self.oneStep("racy", event: "test/racy")])
        try h.load()
        var options = EngineProcess.Options()
        options.workers = 2
        options.scheduler = false
        options.worker.batchSize = 5
        options.worker.pollInterval = 0.02
        options.services = h.services
        let engine = EngineProcess(url: h.url, options: options)
        engine.start()
        defer { engine.stop() }
        let sender = try PGConnection(url: h.url)
        defer { sender.close() }
        for round in 0..<30 {
            _ = try EventStore().send((0..<10).map { EventStore.Event(name: "test/racy", data: ["n": .int(Int64(round * 10 + $0))]) }, conn: sender)
            _ = try FunctionPause().pause("racy", conn: h.conn)
            _ = try EventStore().send([EventStore.Event(name: "test/racy", data: ["round": .int(Int64(round))])], conn: sender)
            _ = try FunctionPause().resume("racy", conn: h.conn)
        }
        try Poll.until("every run of the racy function to complete") {
            try h.scalar("SELECT count(*) FROM blacklight.runs WHERE function_id = 'racy' AND status <> 'completed'").intValue == 0
        }
        #expect(try h.scalar("SELECT count(*) FROM blacklight.runs WHERE function_id = 'racy'").intValue == 330)
    }
}
