import BlacklightCore
import Foundation
import PGStore
import Testing
import TestSupport
@testable import Engine

@Suite("Deploys and run-time schedules across processes", .serialized)
struct DeployProcessTests {
    typealias Child = ProcessTests.Child

    func runCLI(_ args: [String]) throws -> (Int32, String) {
        let c = try Child(args)
        let status = c.waitUntilExit()
        return (status, c.output)
    }

    @Test("deploy of a set with one bad bundle activates none; a good set activates all in one go; rollback restores")
    func deployAllOrNothing() throws {
        let h = try Harness(scripts: [
            "a.lua": ReloadTests.script("a", output: "'a1'"),
            "b.lua": ReloadTests.script("b", output: "'b1'", trigger: "{ event = \"test/b\" }"),
        ])
        let common = ["--database-url", h.url, "--dir", h.root.path]
        var (status, out) = try runCLI(["deploy"] + common)
        #expect(status == 0, "\(out)")
        #expect(out.contains("added") && out.contains("deployed: 2 change(s)"))
        let a1 = try h.scalar("SELECT active_version FROM blacklight.functions WHERE id = 'a'").stringValue

        try h.write(script: "a.lua", ReloadTests.script("a", output: "'a2'"))
        try h.write(script: "b.lua", "return workflow { id = 'b', triggers = { { cron = 'every day' } }, run = function() end }")
        (status, out) = try runCLI(["deploy"] + common)
        #expect(status != 0)
        #expect(out.contains("scripts/b.lua:1:") && out.contains("invalid cron expression"), "\(out)")
        #expect(try h.scalar("SELECT active_version FROM blacklight.functions WHERE id = 'a'").stringValue == a1)

        try h.write(script: "b.lua", ReloadTests.script("b", output: "'b2'", trigger: "{ event = \"test/b\" }"))
        (status, out) = try runCLI(["deploy", "--dry-run"] + common)
        #expect(status == 0)
        #expect(out.contains("updated") && out.contains("nothing was activated"))
        #expect(try h.scalar("SELECT active_version FROM blacklight.functions WHERE id = 'a'").stringValue == a1)
        (status, out) = try runCLI(["deploy"] + common)
        #expect(status == 0 && out.contains("deployed: 2 change(s)"), "\(out)")
        #expect(try h.scalar("SELECT active_version FROM blacklight.functions WHERE id = 'a'").stringValue != a1)

        (status, out) = try runCLI(["functions", "history", "a"] + common)
        #expect(out.contains(a1 ?? "?") && out.contains("(active)"))
        (status, out) = try runCLI(["functions", "history", "nope"] + common)
        #expect(status != 0 && out.contains("no function with id 'nope'"), "\(out)")
        (status, out) = try runCLI(["rollback", "a"] + common)
        #expect(status == 0 && out.contains("a: version \(a1 ?? "?") is active"), "\(out)")
        try h.send("test/v")
        try h.drain()
        #expect(h.output(try h.onlyRun("a")) == "a1")
    }

    @Test("two worker processes both pick up a deploy without a restart")
    func twoProcessesSeeDeploy() throws {
        let h = try Harness(scripts: ["a.lua": ReloadTests.script("a", output: "{ v = 1, pid = db.one('SELECT pg_backend_pid() AS p, pg_sleep(0.02)').p }")])
        try h.load()
        let args = ["worker", "--database-url", h.url, "--dir", h.root.path, "--workers", "1", "--batch-size", "2"]
        let p1 = try Child(args), p2 = try Child(args)
        defer { p1.terminate(); p2.terminate() }
        _ = try EventStore().send((0..<20).map { _ in EventStore.Event(name: "test/v") }, conn: h.conn)
        #expect(try Poll.holds(within: 20) { try h.scalar("SELECT count(*) FROM blacklight.runs WHERE status = 'completed'").intValue == 20 })
        try h.write(script: "a.lua", ReloadTests.script("a", output: "{ v = 2, pid = db.one('SELECT pg_backend_pid() AS p, pg_sleep(0.02)').p }"))
        let (status, out) = try runCLI(["deploy", "--database-url", h.url, "--dir", h.root.path])
        #expect(status == 0, "\(out)")
        _ = try EventStore().send((0..<40).map { _ in EventStore.Event(name: "test/v") }, conn: h.conn)
        #expect(try Poll.holds(within: 20) { try h.scalar("SELECT count(*) FROM blacklight.runs WHERE status = 'completed'").intValue == 60 })
        let after = try h.conn.query("SELECT output FROM blacklight.runs ORDER BY id OFFSET 20").rows.compactMap { h.output($0) }
        #expect(after.allSatisfy { $0["v"] == 2 })
        #expect(Set(after.compactMap { $0["pid"]?.intValue }).count >= 2)
    }

    @Test("a schedule created from a script fires once per tick across two processes and survives a restart")
    func runtimeScheduleAcrossProcesses() throws {
        let h = try Harness(scripts: [
            "create.lua": """
                return workflow {
                  id = "create-role",
                  triggers = { { event = "roles/created" } },
                  run = function(ctx, step)
                    return step.run("schedule-rescrape", function()
                      return cron.schedule("rescrape-role-" .. ctx.event.data.role_id, "* * * * *",
                                           { event = "roles/rescrape", data = { role_id = ctx.event.data.role_id } })
                    end)
                  end,
                }
                """,
            "rescrape.lua": """
                return workflow {
                  id = "rescrape",
                  triggers = { { event = "roles/rescrape" } },
                  run = function(ctx, step) return ctx.event.data.role_id end,
                }
                """,
        ])
        try h.load()
        try h.send("roles/created", ["role_id": 7])
        try h.drain()
        #expect(h.output(try h.onlyRun("create-role")) == "rescrape-role-7")
        let (_, listed) = try runCLI(["schedules", "list", "--database-url", h.url])
        #expect(listed.contains("rescrape-role-7") && listed.contains("* * * * *") && listed.contains("event roles/rescrape"), "\(listed)")

        for round in 1...2 {
            // Pretend the last tick was long ago, then run two schedulers at once.
            try h.conn.exec("UPDATE blacklight.schedules SET last_tick = now() - interval '1 hour'")
            // Port 0: the two must not compete for 8288. INNGEST_DEV=1: serve needs keys otherwise.
            let args = ["serve", "--database-url", h.url, "--dir", h.root.path, "--workers", "1", "--port", "0"]
            let p1 = try Child(args, env: ["INNGEST_DEV": "1"]), p2 = try Child(args, env: ["INNGEST_DEV": "1"])
            #expect(try Poll.holds(within: 20) { try h.scalar("SELECT count(*) FROM blacklight.runs WHERE function_id = 'rescrape' AND status = 'completed'").intValue ?? 0 >= Int64(round) })
            // Each scheduler has had its chance at the tick the first one fired (a second fire would come now).
            try h.waitForSchedulers(2)
            p1.terminate()
            p2.terminate()
            let events = try h.scalar("SELECT count(*) FROM blacklight.events WHERE name = 'roles/rescrape'").intValue ?? 0
            // One event per round (a second one only if the minute turned during the round).
            #expect(events >= Int64(round) && events <= Int64(round) + 1, "round \(round): \(events) events")
        }
        let data = try h.conn.query("SELECT data FROM blacklight.events WHERE name = 'roles/rescrape' LIMIT 1").rows.first
        #expect(data.flatMap { h.output(PGRow(columns: ["output"], values: [$0["data"]])) } == ["role_id": 7])
    }
}
