import BlacklightCore
import Foundation
import PGStore
import Testing
import TestSupport
@testable import Engine

@Suite("Events, triggers and idempotency")
struct EventTests {
    static let echo = """
        return workflow {
          id = "echo",
          triggers = { { event = "test/echo" } },
          run = function(ctx, step) return ctx.event.data end,
        }
        """

    @Test("an event id seen in the last 24 h creates nothing new and returns the original event id")
    func duplicateEventID() throws {
        let h = try Harness(scripts: ["echo.lua": Self.echo])
        try h.load()
        let first = try h.send("test/echo", ["n": 1], id: "import-42")
        let second = try h.send("test/echo", ["n": 2], id: "import-42")
        #expect(first == second)
        #expect(try h.scalar("SELECT count(*) FROM blacklight.events").intValue == 1)
        #expect(try h.runs(function: "echo").count == 1)
    }

    @Test("blacklight.send_event works inside the app's transaction: a rollback leaves no event and no run")
    func sqlSendEventIsTransactional() throws {
        let h = try Harness(scripts: ["echo.lua": Self.echo])
        try h.load()
        try h.conn.exec("BEGIN")
        let id = try h.scalar("SELECT blacklight.send_event('test/echo', '{\"n\": 5}'::jsonb)").stringValue
        #expect(id?.count == 26)
        try h.conn.exec("ROLLBACK")
        #expect(try h.scalar("SELECT count(*) FROM blacklight.events").intValue == 0)
        #expect(try h.runs().isEmpty)
        let committed = try h.scalar("SELECT blacklight.send_event('test/echo', '{\"n\": 6}'::jsonb)").stringValue
        #expect(committed != nil)
        try h.drain()
        #expect(h.output(try h.onlyRun("echo")) == ["n": 6])
    }

    @Test("bad events are refused with a message naming the field, and nothing is stored")
    func badEvents() throws {
        let h = try Harness(scripts: ["echo.lua": Self.echo])
        try h.load()
        #expect(throws: EngineError.self) { try h.send("", ["n": 1]) }
        #expect(throws: EngineError.self) {
            try EventStore().send([EventStore.Event(name: "test/echo", data: [1, 2])], conn: h.conn)
        }
        do {
            _ = try h.scalar("SELECT blacklight.send_event('test/echo', '[1]'::jsonb)")
            Issue.record("expected an error")
        } catch let error as PGError {
            #expect(error.message == "event data must be a JSON object, got array")
        }
        #expect(try h.scalar("SELECT count(*) FROM blacklight.events").intValue == 0)
    }

    @Test("a trigger filter only starts runs for events whose data contains it")
    func triggerFilter() throws {
        let h = try Harness(scripts: ["f.lua": """
            return workflow {
              id = "linkedin-only",
              triggers = { { event = "jobs/imported", filter = { source = "linkedin" } } },
              run = function(ctx, step) return ctx.event.data.batch_id end,
            }
            """])
        try h.load()
        try h.send("jobs/imported", ["source": "indeed", "batch_id": "a"])
        try h.send("jobs/imported", ["source": "linkedin", "batch_id": "b"])
        try h.drain()
        let runs = try h.runs(function: "linkedin-only")
        #expect(runs.count == 1)
        #expect(h.output(runs[0]) == "b")
    }

    @Test("idempotency on an event data path starts one run per value per 24 h")
    func idempotency() throws {
        let h = try Harness(scripts: ["i.lua": """
            return workflow {
              id = "once-per-candidate",
              triggers = { { event = "job-match/generate-candidate" } },
              idempotency = "event.data.candidate_id",
              run = function(ctx, step) return ctx.event.data.candidate_id end,
            }
            """])
        try h.load()
        try h.send("job-match/generate-candidate", ["candidate_id": 7])
        try h.send("job-match/generate-candidate", ["candidate_id": 7])
        try h.send("job-match/generate-candidate", ["candidate_id": 8])
        #expect(try h.runs(function: "once-per-candidate").count == 2)
    }

    @Test("step.send_event stores events durably and starts the functions they trigger")
    func sendEventFromStep() throws {
        let h = try Harness(scripts: [
            "a.lua": """
                return workflow {
                  id = "producer",
                  triggers = { { event = "test/produce" } },
                  run = function(ctx, step)
                    local ids = step.send_event("fan-out", { { name = "test/echo", data = { n = 1 } }, { name = "test/echo", data = { n = 2 } } })
                    return #ids
                  end,
                }
                """,
            "echo.lua": Self.echo,
        ])
        try h.load()
        try h.send("test/produce")
        try h.drain()
        #expect(h.output(try h.onlyRun("producer")) == 2)
        let echoes = try h.runs(function: "echo")
        #expect(echoes.count == 2)
        #expect(Set(echoes.compactMap { h.output($0) }) == [["n": 1], ["n": 2]])
    }

    @Test("events.send outside a step is refused so sends stay durable")
    func sendOutsideStep() throws {
        let h = try Harness(scripts: ["bad.lua": """
            return workflow {
              id = "bad-send",
              triggers = { { event = "test/bad-send" } },
              retries = 0,
              run = function(ctx, step) events.send({ name = "x" }) end,
            }
            """])
        try h.load()
        try h.send("test/bad-send")
        try h.drain()
        let run = try h.onlyRun("bad-send")
        #expect(h.error(run)?["message"]?.stringValue?.contains("events.send must be called inside step.run") == true)
    }
}
