import BlacklightCore
import Foundation
import Testing
import TestSupport

@Suite("REST API")
struct RestAPITests {
    func completedRun(_ h: ServerHarness) async throws -> String {
        let r = try await h.post("/e/k", #"{"name":"test/greet","data":{"name":"ab"}}"#)
        let eventID = try #require(r.json["ids"]?[0]?.stringValue)
        #expect(try await Poll.suspendingHolds {
            try h.count("SELECT count(*) FROM blacklight.runs WHERE event_id = $1 AND status = 'completed'", [.text(eventID)]) == 1
        })
        return try #require(try h.conn.query("SELECT id FROM blacklight.runs WHERE event_id = $1", [.text(eventID)]).scalar.stringValue)
    }

    @Test func runsListAndOneRunWithSteps() async throws {
        let h = try await ServerHarness.start(scripts: ["greet.lua": Scripts.greet], engine: true)
        defer { Task { await h.stop() } }
        let runID = try await completedRun(h)
        let list = try await h.get("/api/runs?function=greet&status=completed&limit=10")
        #expect(list.status == 200)
        #expect(list.json["runs"]?[0]?["id"]?.stringValue == runID)
        #expect(list.json["runs"]?[0]?["event_name"]?.stringValue == "test/greet")
        #expect(try await h.get("/api/runs?status=failed").json["runs"] == .array([]))
        #expect(try await h.get("/api/runs?event=test/greet").json["runs"]?.arrayValue?.count == 1)
        #expect(try await h.get("/api/runs?since=2999-01-01T00:00:00Z").json["runs"] == .array([]))
        #expect(try await h.get("/api/runs?status=nope").status == 400)

        let one = try await h.get("/api/runs/\(runID)")
        #expect(one.status == 200)
        #expect(one.json["status"]?.stringValue == "completed")
        #expect(one.json["output"] == ["result": "abab"])
        #expect(one.json["version"]?.stringValue?.isEmpty == false)
        let steps = one.json["steps"]?.arrayValue ?? []
        #expect(steps.map { $0["id"]?.stringValue ?? "" } == ["first", "second"])
        #expect(steps[0]["output"] == ["hello": "ab"])
        #expect(steps[0]["attempts"]?.intValue == 1)
        #expect(steps[0]["duration_ms"]?.doubleValue != nil)
        #expect(try await h.get("/api/runs/NOPE").status == 404)
    }

    @Test func paginationWalksEveryRunOnce() async throws {
        let h = try await ServerHarness.start(scripts: ["greet.lua": Scripts.greet])
        defer { Task { await h.stop() } }
        let body = "[" + Array(repeating: #"{"name":"test/greet"}"#, count: 25).joined(separator: ",") + "]"
        _ = try await h.post("/e/k", body)
        var seen: [String] = []
        var cursor: String?
        repeat {
            let page = try await h.get("/api/runs?limit=10" + (cursor.map { "&cursor=\($0)" } ?? ""))
            seen += page.json["runs"]?.arrayValue?.compactMap { $0["id"]?.stringValue } ?? []
            cursor = page.json["next_cursor"]?.stringValue
        } while cursor != nil
        #expect(seen.count == 25 && Set(seen).count == 25)
        #expect(seen == seen.sorted(by: >))
    }

    @Test func eventsListAndOneEventWithItsRuns() async throws {
        let h = try await ServerHarness.start(scripts: ["greet.lua": Scripts.greet])
        defer { Task { await h.stop() } }
        let sent = try await h.post("/api/events", #"{"name":"test/greet","data":{"x":1}}"#)
        let id = try #require(sent.json["ids"]?[0]?.stringValue)
        let list = try await h.get("/api/events?name=test/greet")
        #expect(list.json["events"]?[0]?["id"]?.stringValue == id)
        #expect(list.json["events"]?[0]?["run_count"]?.intValue == 1)
        let one = try await h.get("/api/events/\(id)")
        #expect(one.json["data"] == ["x": 1])
        #expect(one.json["runs"]?[0]?["function_id"]?.stringValue == "greet")
        let replay = try await h.post("/api/events/\(id)/replay")
        #expect(replay.status == 200)
        #expect(try h.count("SELECT count(*) FROM blacklight.events WHERE name = 'test/greet'") == 2)
        #expect(try await h.get("/api/events/NOPE").status == 404)
    }

    @Test func functionsShowTriggersVersionsAndLoadErrors() async throws {
        let h = try await ServerHarness.start(scripts: ["greet.lua": Scripts.greet, "nightly.lua": Scripts.nightly,
                                                        "broken.lua": "return workflow { id = "])
        defer { Task { await h.stop() } }
        let r = try await h.get("/api/functions")
        let fns = r.json["functions"]?.arrayValue ?? []
        #expect(fns.compactMap { $0["id"]?.stringValue } == ["greet", "nightly"])
        #expect(fns[0]["event_triggers"]?[0]?["event"]?.stringValue == "test/greet")
        #expect(fns[0]["active_version"]?.stringValue?.isEmpty == false)
        #expect(fns[1]["schedules"]?[0]?["cron"]?.stringValue == "0 3 * * *")
        #expect(r.json["load_errors"]?[0]?["file"]?.stringValue?.hasSuffix("broken.lua") == true)
        let s = try await h.get("/api/schedules")
        #expect(s.json["schedules"]?[0]?["next_tick"]?.stringValue != nil)
        #expect(try await h.get("/api/functions/greet").json["id"]?.stringValue == "greet")
    }

    @Test("a schedule's last error shows in /api/schedules and on the Functions page until it is cleared")
    func scheduleErrorIsShown() async throws {
        let h = try await ServerHarness.start(scripts: ["nightly.lua": Scripts.nightly])
        defer { Task { await h.stop() } }
        // What CronScheduler writes when a fire fails (CronIsolationTests covers the scheduler itself).
        try h.conn.exec("""
            UPDATE blacklight.schedules SET last_error = 'tick 2026-12-01T03:00:00.000Z: ERROR 22023: <refused>',
                   last_error_at = '2026-12-01T03:00:01Z'
            """)
        let s = try await h.get("/api/schedules")
        #expect(s.json["schedules"]?[0]?["last_error"]?.stringValue == "tick 2026-12-01T03:00:00.000Z: ERROR 22023: <refused>")
        #expect(s.json["schedules"]?[0]?["last_error_at"]?.stringValue == "2026-12-01T03:00:01Z")
        let fns = try await h.get("/api/functions")
        #expect(fns.json["functions"]?[0]?["schedules"]?[0]?["last_error"]?.stringValue?.hasSuffix("<refused>") == true)
        let page = try await h.get("/functions")
        #expect(page.text.contains("<div class=\"error\">tick 2026-12-01T03:00:00.000Z: ERROR 22023: &lt;refused&gt;</div>"))
        try h.conn.exec("UPDATE blacklight.schedules SET last_error = NULL, last_error_at = NULL")
        #expect(try await h.get("/api/schedules").json["schedules"]?[0]?["last_error"] == .null)
        #expect(!(try await h.get("/functions")).text.contains("ERROR 22023"))
    }

    @Test func cancelStopsARunAndAWorkerNeverResumesIt() async throws {
        let h = try await ServerHarness.start(scripts: ["slow.lua": Scripts.slow, "greet.lua": Scripts.greet], engine: true)
        defer { Task { await h.stop() } }
        let e = try await h.post("/e/k", #"{"name":"test/slow"}"#)
        let eventID = try #require(e.json["ids"]?[0]?.stringValue)
        #expect(try await Poll.suspendingHolds { try h.count("SELECT count(*) FROM blacklight.runs WHERE event_id = $1 AND status = 'sleeping'", [.text(eventID)]) == 1 })
        let runID = try #require(try h.conn.query("SELECT id FROM blacklight.runs WHERE event_id = $1", [.text(eventID)]).scalar.stringValue)
        let c = try await h.post("/api/runs/\(runID)/cancel")
        #expect(c.status == 200)
        #expect(c.json["status"]?.stringValue == "cancelled")
        try h.conn.exec("UPDATE blacklight.runs SET run_at = now() WHERE id = $1", [.text(runID)])
        // A run queued after it and completed shows the worker has claimed past the cancelled run's due time.
        let later = try #require(try await h.post("/e/k", #"{"name":"test/greet","data":{"name":"x"}}"#).json["ids"]?[0]?.stringValue)
        #expect(try await Poll.suspendingHolds { try h.count("SELECT count(*) FROM blacklight.runs WHERE event_id = $1 AND status = 'completed'", [.text(later)]) == 1 })
        #expect(try h.conn.query("SELECT status FROM blacklight.runs WHERE id = $1", [.text(runID)]).scalar.stringValue == "cancelled")
        #expect(try await h.post("/api/runs/\(runID)/cancel").status == 409)
        #expect(try await h.post("/api/runs/NOPE/cancel").status == 404)
    }

    @Test func rerunAndRerunFromAStepWithEditedOutput() async throws {
        let h = try await ServerHarness.start(scripts: ["greet.lua": Scripts.greet], engine: true)
        defer { Task { await h.stop() } }
        let runID = try await completedRun(h)
        let again = try await h.post("/api/runs/\(runID)/rerun", "{}")
        #expect(again.status == 201)
        let newID = try #require(again.json["run_id"]?.stringValue)
        #expect(try await Poll.suspendingHolds { try h.count("SELECT count(*) FROM blacklight.runs WHERE id = $1 AND status = 'completed'", [.text(newID)]) == 1 })

        let edited = try await h.post("/api/runs/\(runID)/rerun", #"{"step":"first","output":{"hello":"zz"}}"#)
        let editedID = try #require(edited.json["run_id"]?.stringValue)
        #expect(try await Poll.suspendingHolds { try h.count("SELECT count(*) FROM blacklight.runs WHERE id = $1 AND status = 'completed'", [.text(editedID)]) == 1 })
        let run = try await h.get("/api/runs/\(editedID)")
        #expect(run.json["output"] == ["result": "zzzz"])
        #expect(try await h.post("/api/runs/\(runID)/rerun", #"{"step":"missing"}"#).status == 404)
    }

    @Test func invokeAFunctionAndRunACronNow() async throws {
        let h = try await ServerHarness.start(scripts: ["greet.lua": Scripts.greet, "nightly.lua": Scripts.nightly], engine: true)
        defer { Task { await h.stop() } }
        let inv = try await h.post("/api/functions/greet/invoke", #"{"data":{"name":"q"}}"#)
        #expect(inv.status == 201)
        let runID = try #require(inv.json["run_id"]?.stringValue)
        #expect(try await Poll.suspendingHolds { try h.count("SELECT count(*) FROM blacklight.runs WHERE id = $1 AND status = 'completed'", [.text(runID)]) == 1 })
        #expect(try await h.get("/api/runs/\(runID)").json["output"] == ["result": "qq"])
        #expect(try await h.get("/api/runs/\(runID)").json["event"]?["name"]?.stringValue == "blacklight/invoke")
        #expect(try await h.post("/api/functions/nope/invoke", "{}").status == 404)
        let cron = try await h.post("/api/schedules/fn:nightly:0/run")
        let cronRun = try #require(cron.json["run_id"]?.stringValue)
        #expect(try await Poll.suspendingHolds { try h.count("SELECT count(*) FROM blacklight.runs WHERE id = $1 AND status = 'completed'", [.text(cronRun)]) == 1 })
    }
}

@Suite("Auth, health, readiness, metrics")
struct OperationsTests {
    @Test func outsideDevTheAPINeedsTheSigningKey() async throws {
        let h = try await ServerHarness.start { o in
            o.dev = false
            o.signingKey = "signkey-123"
        }
        defer { Task { await h.stop() } }
        let none = try await h.get("/api/runs")
        #expect(none.status == 401)
        #expect(!none.text.contains("runs\""))
        #expect(try await h.get("/api/runs", headers: ["authorization": "Bearer wrong"]).status == 401)
        #expect(try await h.get("/runs").status == 401)
        #expect(try await h.post("/api/functions/x/invoke", "{}").status == 401)
        let ok = try await h.get("/api/runs", headers: ["authorization": "Bearer signkey-123"])
        #expect(ok.status == 200)
        #expect(try await h.get("/health").status == 200)
        // The login form sets a cookie that opens the dashboard.
        let badLogin = try await h.request("POST", "/login", body: "key=nope&next=%2Fruns", headers: ["content-type": "application/x-www-form-urlencoded"])
        #expect(badLogin.status == 401)
        let login = try await h.request("POST", "/login", body: "key=signkey-123&next=%2Fruns", headers: ["content-type": "application/x-www-form-urlencoded"])
        #expect(login.status == 303)
        let cookie = try #require(login.headers["set-cookie"]?.split(separator: ";").first.map(String.init))
        #expect(try await h.get("/runs", headers: ["cookie": cookie]).status == 200)
        #expect(try await h.get("/runs", headers: ["cookie": "blacklight_session=forged"]).status == 401)
    }

    @Test func withoutASigningKeyNothingProtectedIsServed() async throws {
        let h = try await ServerHarness.start { o in o.dev = false }
        defer { Task { await h.stop() } }
        #expect(try await h.get("/api/functions", headers: ["authorization": "Bearer "]).status == 401)
    }

    @Test func healthReadyAndMetrics() async throws {
        let h = try await ServerHarness.start(scripts: ["greet.lua": Scripts.greet], engine: true)
        defer { Task { await h.stop() } }
        #expect(try await h.get("/health").json["status"]?.stringValue == "ok")
        #expect(try await h.get("/ready").json["status"]?.stringValue == "ready")
        // In dev /metrics needs no key; what it counts is tested in MetricsTests.
        let m = try await h.get("/metrics")
        #expect(m.status == 200)
        #expect(m.headers["content-type"]?.hasPrefix("text/plain") == true)
        #expect(m.text.contains("blacklight_queue_depth{status=\"queued\"} 0"))
    }

    @Test func readyFailsWhenMigrationsArePending() async throws {
        let h = try await ServerHarness.start()
        defer { Task { await h.stop() } }
        try h.conn.exec("DELETE FROM blacklight.schema_migrations WHERE version = 2")
        let r = try await h.get("/ready")
        #expect(r.status == 503)
    }

    @Test func unknownErrorsArePlain500s() async throws {
        let h = try await ServerHarness.start()
        defer { Task { await h.stop() } }
        try h.conn.exec("ALTER TABLE blacklight.runs RENAME TO runs_gone")
        let r = try await h.get("/api/runs")
        #expect(r.status == 500)
        #expect(!r.text.contains("runs_gone") && !r.text.contains("relation"))
    }
}
