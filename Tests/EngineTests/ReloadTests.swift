import BlacklightCore
import Foundation
import PGStore
import Testing
import TestSupport
@testable import Engine

@Suite("Hot reload, deploys and schedules", .serialized)
struct ReloadTests {
    static func script(_ id: String, output: String, trigger: String = "{ event = \"test/v\" }", extra: String = "") -> String {
        """
        \(extra)
        return workflow {
          id = "\(id)",
          triggers = { \(trigger) },
          run = function(ctx, step)
            if ctx.event.data.pause then step.sleep("pause", ctx.event.data.pause) end
            return \(output)
          end,
        }
        """
    }

    func activeVersion(_ h: Harness, _ id: String) throws -> String? {
        try h.scalar("SELECT active_version FROM blacklight.functions WHERE id = $1", [.text(id)]).stringValue
    }

    /// Starts a watcher on the harness's project; returns the stop flag.
    func watch(_ h: Harness) throws -> StopFlag {
        let reloader = ScriptReloader(directory: ScriptDirectory(root: h.root), url: h.url, services: h.services)
        try reloader.reload()
        let stop = StopFlag()
        let watching = DispatchSemaphore(value: 0)
        Thread.detachNewThread { reloader.watch(stop: stop, onWatching: { watching.signal() }) }
        if watching.wait(timeout: .now() + 60) == .timedOut { throw PollTimeout(what: "the watcher to watch the folders", seconds: 60) }
        return stop
    }

    @Test("a save during a long run: the run finishes on the old version, a new run uses the new one")
    func saveDuringRun() throws {
        let h = try Harness(scripts: ["v.lua": Self.script("v", output: "'one'")])
        let stop = try watch(h)
        defer { stop.stop() }
        let v1 = try activeVersion(h, "v")
        // A sleep long enough never to end by itself; the test wakes the run once the new version is live.
        try h.send("test/v", ["pause": 3600])
        try h.drain()
        #expect(try h.onlyRun("v")["status"].stringValue == "sleeping")
        try h.write(script: "v.lua", Self.script("v", output: "'two'"))
        #expect(try Poll.holds(within: 5) { try activeVersion(h, "v") != v1 })
        try h.wakeSleepingRuns()
        try h.send("test/v")
        try h.drain(until: 5) { try h.runs(function: "v").allSatisfy { $0["status"].stringValue == "completed" } }
        #expect(try h.runs(function: "v").map { h.output($0) } == ["one", "two"])
    }

    @Test("a broken save keeps the previous version and reports file and line until a good save clears it")
    func brokenSave() throws {
        let h = try Harness(scripts: ["v.lua": Self.script("v", output: "'one'")])
        let stop = try watch(h)
        defer { stop.stop() }
        let v1 = try activeVersion(h, "v")
        try h.write(script: "v.lua", "return workflow {\n  id = 'v',\n  run = function( end\n}\n")
        #expect(try Poll.holds(within: 5) { try h.scalar("SELECT count(*) FROM blacklight.load_errors").intValue == 1 })
        let row = try #require(try h.conn.query("SELECT file, line, message FROM blacklight.load_errors").rows.first)
        #expect(row["file"].stringValue == "scripts/v.lua")
        #expect(row["line"].intValue == 3)
        #expect(try activeVersion(h, "v") == v1)
        try h.send("test/v")
        try h.drain()
        #expect(h.output(try h.onlyRun("v")) == "one")
        try h.write(script: "v.lua", Self.script("v", output: "'fixed'"))
        #expect(try Poll.holds(within: 5) { try h.scalar("SELECT count(*) FROM blacklight.load_errors").intValue == 0 })
        #expect(try activeVersion(h, "v") != v1)
    }

    @Test("editing a plugin reloads every workflow that requires it, and only those")
    func pluginEdit() throws {
        let h = try Harness(scripts: [
            "uses.lua": Self.script("uses", output: "weights.skills", extra: "local weights = require('weights')"),
            "other.lua": Self.script("other", output: "1", trigger: "{ event = \"test/other\" }"),
        ], plugins: ["weights": "return { skills = 0.4 }"])
        let stop = try watch(h)
        defer { stop.stop() }
        let uses = try activeVersion(h, "uses"), other = try activeVersion(h, "other")
        try h.write(plugin: "weights", "return { skills = 0.6 }")
        #expect(try Poll.holds(within: 5) { try activeVersion(h, "uses") != uses })
        #expect(try activeVersion(h, "other") == other)
        try h.send("test/v")
        try h.drain()
        #expect(h.output(try h.onlyRun("uses")) == 0.6)
    }

    @Test("deleting a script retires its workflow; runs in flight finish")
    func deleteRetires() throws {
        let h = try Harness(scripts: ["v.lua": Self.script("v", output: "'one'")])
        let stop = try watch(h)
        defer { stop.stop() }
        try h.send("test/v", ["pause": 0.2])
        try h.drain()
        try FileManager.default.removeItem(at: h.root.appendingPathComponent("scripts/v.lua"))
        #expect(try Poll.holds(within: 5) { try activeVersion(h, "v") == nil })
        try h.send("test/v")
        try h.drain(until: 5) { try h.onlyRun("v")["status"].stringValue == "completed" }
        #expect(try h.runs(function: "v").count == 1)
    }

    @Test("a cron expression changed by a save takes effect at the next tick")
    func cronChangeBySave() throws {
        let h = try Harness(scripts: ["c.lua": Self.script("c", output: "ctx.event.data.tick", trigger: "{ cron = \"0 3 * * *\" }")])
        try h.load()
        let scheduler = CronScheduler(url: h.url, log: h.services.log)
        let now = Date()
        #expect(try scheduler.tick(now: now).isEmpty)
        try h.write(script: "c.lua", Self.script("c", output: "ctx.event.data.tick", trigger: "{ cron = \"*/5 * * * *\" }"))
        try h.load()
        #expect(try h.scalar("SELECT expression FROM blacklight.schedules").stringValue == "*/5 * * * *")
        let next = try #require(try CronExpression("*/5 * * * *").next(after: now))
        #expect(try scheduler.tick(now: next.addingTimeInterval(-1)).isEmpty)
        #expect(try scheduler.tick(now: next.addingTimeInterval(1)).count == 1)
        #expect(try scheduler.tick(now: next.addingTimeInterval(2)).isEmpty)
        try h.drain()
        #expect(h.output(try h.onlyRun("c")) == .string(TimeValue.iso(next.timeIntervalSince1970)))
    }

    @Test("cron.schedule rejects an invalid expression at the call with a clear error")
    func scheduleRejectsBadExpression() throws {
        let h = try Harness(scripts: ["s.lua": """
            return workflow {
              id = "bad-schedule",
              triggers = { { event = "test/s" } },
              retries = 0,
              run = function(ctx, step)
                step.run("schedule", function() return cron.schedule("x", "99 * * * *", { event = "y" }) end)
              end,
            }
            """])
        try h.load()
        try h.send("test/s")
        try h.drain()
        let message = h.error(try h.onlyRun("bad-schedule"))?["message"]?.stringValue ?? ""
        #expect(message.contains("cron.schedule('x'): invalid cron expression \"99 * * * *\": minute value 99 out of range 0-59"), "\(message)")
        #expect(try h.scalar("SELECT count(*) FROM blacklight.schedules").intValue == 0)
    }
}
