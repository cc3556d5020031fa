import BlacklightCore
import Foundation
import PGStore
import Testing
import TestSupport
@testable import Engine

/// Issue 10: an event is validated once, by `EventStore.Event`, on every path (Swift, Lua, schedules), and times
/// made in Lua pass the same range check as times from JSON.
@Suite("Event validation on every path")
struct EventValidationTests {
    static let far = Date(timeIntervalSince1970: 9_223_978_307_200)  // microseconds since 1970 overflow Int64

    @Test("EventStore.send refuses each bad field naming the event and the field, and stores nothing of the call")
    func sendRefusesBadFields() throws {
        let h = try Harness()
        let good = EventStore.Event(name: "ok")
        let cases: [(EventStore.Event, String)] = [
            (.init(name: "a", data: ["s": "x\u{0}y"]), "event 1: field 'data.s': contains the character U+0000, which cannot be stored"),
            (.init(name: "a", data: ["x": .double(.infinity)]),
             "event 1: field 'data.x': inf is not a JSON number (NaN and infinities cannot be stored)"),
            (.init(name: "bell\u{7}"), "event 1: field 'name': contains the control character U+0007"),
            (.init(name: "  "), "event 1: field 'name': required"),
            (.init(name: "a", id: String(repeating: "i", count: 3000)), "event 1: field 'id': 3000 bytes is over the limit of 256"),
            (.init(name: "a", id: "a\u{0}"), "event 1: field 'id': contains the character U+0000, which cannot be stored"),
            (.init(name: "a", ts: Self.far),
             "event 1: field 'ts': 9223978307200000 ms since 1970 is after the year 9999: times must be in years 1 to 9999"),
            (.init(name: "a", data: [1]), "event 1: field 'data': must be a JSON object"),
        ]
        for (bad, message) in cases {
            do {
                _ = try EventStore().send([good, bad], conn: h.conn)
                Issue.record("expected a refusal: \(message)")
            } catch let error as EngineError {
                #expect(error.code == .badInput)
                #expect(error.message == message)
            }
        }
        #expect(try h.scalar("SELECT count(*) FROM blacklight.events").intValue == 0)
    }

    @Test("blacklight send refuses a bad event with the same message and stores nothing")
    func cliSendRefuses() throws {
        let h = try Harness()
        let db = ["--database-url", h.url, "--dir", h.root.path]
        let (longID, _, idError) = try RetentionTests.runCLI(["send", "test/x", "--id", String(repeating: "i", count: 300)] + db)
        #expect(longID != 0)
        #expect(idError.contains("event 0: field 'id': 300 bytes is over the limit of 256"), "\(idError)")
        let (huge, _, hugeError) = try RetentionTests.runCLI(["send", "test/x", "--data", #"{"n": 1e999}"#] + db)
        #expect(huge != 0)
        #expect(hugeError.contains("the number 1e999 at offset 6 is beyond the range of a 64-bit float"), "\(hugeError)")
        let (tab, _, tabError) = try RetentionTests.runCLI(["send", "test\tx"] + db)
        #expect(tab != 0)
        #expect(tabError.contains("event 0: field 'name': contains the control character U+0009"), "\(tabError)")
        #expect(try h.scalar("SELECT count(*) FROM blacklight.events").intValue == 0)
    }

    @Test("Event(json:) reads the Inngest shape: ts in ms (0 is now), an empty id is none, v must be a string")
    func readsTheInngestShape() throws {
        let limits = EventLimits()
        let e = try EventStore.Event(json: ["name": "a", "data": ["n": 1], "id": "", "ts": 1_700_000_000_000, "v": "1"], index: 0,
                                     limits: limits)
        #expect(e.name == "a" && e.data == ["n": 1] && e.id == nil)
        #expect(e.ts == Date(timeIntervalSince1970: 1_700_000_000))
        #expect(try EventStore.Event(json: ["name": "a", "ts": 0], index: 0, limits: limits).ts == nil)
        #expect(throws: EngineError(.badInput, "event 3: field 'v': must be a string")) {
            try EventStore.Event(json: ["name": "a", "v": 1], index: 3, limits: limits)
        }
        #expect(throws: EngineError(.badInput, "event 0: field 'ts': must be a number of milliseconds since 1970")) {
            try EventStore.Event(json: ["name": "a", "ts": "yesterday"], index: 0, limits: limits)
        }
        #expect(throws: EngineError(.badInput, "event 0: field 'name': must be a string")) {
            try EventStore.Event(json: ["name": 5], index: 0, limits: limits)
        }
        var small = EventLimits()
        small.maxEventBytes = 100
        #expect(throws: EngineError(.badInput, "event 0: field 'data': the event is 109 bytes, over the limit of 100 bytes per event")) {
            try EventStore.Event(json: ["name": "a", "data": ["s": .string(String(repeating: "x", count: 100))]], index: 0, limits: small)
        }
    }

    @Test("step.send_event refuses a list with a bad event, naming it (counted from 1), and stores none of the list")
    func luaSendRefusesBadEvents() throws {
        let h = try Harness(scripts: ["send.lua": """
            return workflow {
              id = "sender",
              triggers = { { event = "test/send" } },
              retries = 0,
              run = function(ctx, step)
                return step.send_event("out", { { name = "test/ok" }, { name = "test/ok", id = string.rep("i", 300) } })
              end,
            }
            """, "nul.lua": """
            return workflow {
              id = "nul-name",
              triggers = { { event = "test/nul" } },
              retries = 0,
              run = function(ctx, step)
                return step.run("s", function() return events.send({ name = "a\\0b" }) end)
              end,
            }
            """])
        try h.load()
        try h.send("test/send")
        try h.send("test/nul")
        try h.drain()
        let sender = try h.onlyRun("sender")
        #expect(sender["status"].stringValue == "failed")
        #expect(h.error(sender)?["message"]?.stringValue?.contains("step.send_event: event 2: field 'id': 300 bytes is over the limit of 256")
                == true, "\(String(describing: h.error(sender)))")
        let nul = try h.onlyRun("nul-name")
        #expect(h.error(nul)?["message"]?.stringValue?.contains("events.send: event 1: field 'name': contains the control character U+0000")
                == true, "\(String(describing: h.error(nul)))")
        #expect(try h.scalar("SELECT count(*) FROM blacklight.events WHERE name NOT LIKE 'test/send' AND name NOT LIKE 'test/nul'").intValue == 0)
    }

    @Test("regression: times made in Lua pass the range check (time.unix, time.parse, arithmetic) instead of reaching SQL")
    func luaTimesAreRangeChecked() throws {
        let h = try Harness(scripts: ["t.lua": """
            return workflow {
              id = "times",
              triggers = { { event = "test/times" } },
              retries = 0,
              run = function(ctx, step)
                local function why(f, ...) local ok, err = pcall(f, ...) return ok and "ok" or tostring(err) end
                return {
                  huge = why(time.unix, 1e300),
                  nan = why(time.unix, 0/0),
                  plus = why(function() return ctx.now + 9223978307200 end),
                  minus = why(function() return ctx.now - 1e18 end),
                  edge = why(time.unix, 253402300799),
                  stored = step.run("far", function() return db.one("SELECT $1::timestamptz AS t", time.unix(253402300799)).t:unix() end),
                }
              end,
            }
            """])
        try h.load()
        try h.send("test/times")
        try h.drain()
        let run = try h.onlyRun("times")
        #expect(run["status"].stringValue == "completed", "\(String(describing: h.error(run)))")
        let out = try #require(h.output(run))
        #expect(out["huge"]?.stringValue?.contains("time.unix: 1e+300 s since 1970 is after the year 9999: times must be in years 1 to 9999")
                == true, "\(out)")
        #expect(out["nan"]?.stringValue?.contains("time.unix: NaN is not a time") == true, "\(out)")
        #expect(out["plus"]?.stringValue?.contains("time + number: ") == true, "\(out)")
        #expect(out["minus"]?.stringValue?.contains("is before the year 1") == true, "\(out)")
        #expect(out["edge"] == "ok")
        #expect(out["stored"]?.doubleValue == 253_402_300_799)
    }

    @Test("cron.schedule refuses an event that every tick would fail to send")
    func cronScheduleValidatesItsEvent() throws {
        let h = try Harness(scripts: ["c.lua": """
            return workflow {
              id = "sched",
              triggers = { { event = "test/sched" } },
              retries = 0,
              run = function(ctx, step)
                return step.run("s", function() return cron.schedule("n", "* * * * *", { event = "bad\\0name" }) end)
              end,
            }
            """])
        try h.load()
        try h.send("test/sched")
        try h.drain()
        let run = try h.onlyRun("sched")
        #expect(h.error(run)?["message"]?.stringValue?.contains("cron.schedule('n'): event: field 'name': contains the control character U+0000")
                == true, "\(String(describing: h.error(run)))")
        #expect(try h.scalar("SELECT count(*) FROM blacklight.schedules").intValue == 0)
    }
}
