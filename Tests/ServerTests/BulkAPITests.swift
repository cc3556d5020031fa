import BlacklightCore
import Foundation
import Testing
import TestSupport

/// `POST /api/runs/cancel|replay`, `POST /api/functions/:id/pause|resume`, and the same from the dashboard in
/// chromium (Server/API/BulkRoutes.swift, Engine/Control).
@Suite("Bulk actions")
struct BulkAPITests {
    static let fails = """
        return workflow {
          id = "fails",
          triggers = { { event = "test/fails" } },
          retries = 0,
          run = function(ctx, step) return step.run("boom", function() error("boom " .. ctx.event.data.n) end) end,
        }
        """

    /// Four failed runs of `fails`, three sleeping runs of `slow`, two completed runs of `greet`.
    static func seeded() async throws -> ServerHarness {
        let h = try await ServerHarness.start(scripts: ["greet.lua": Scripts.greet, "slow.lua": Scripts.slow, "fails.lua": fails],
                                              engine: true)
        let events = (0..<4).map { #"{"name":"test/fails","data":{"n":\#($0)}}"# } + Array(repeating: #"{"name":"test/slow"}"#, count: 3)
            + Array(repeating: #"{"name":"test/greet"}"#, count: 2)
        _ = try await h.post("/e/k", "[" + events.joined(separator: ",") + "]")
        try await Poll.suspendingUntil("the seeded runs to settle") {
            try h.count("SELECT count(*) FROM blacklight.runs WHERE status = 'failed'") == 4
                && h.count("SELECT count(*) FROM blacklight.runs WHERE status = 'sleeping'") == 3
                && h.count("SELECT count(*) FROM blacklight.runs WHERE status = 'completed'") == 2
        }
        return h
    }

    func statuses(_ h: ServerHarness) throws -> [String: Int64] {
        var out: [String: Int64] = [:]
        for row in try h.conn.query("SELECT function_id || ':' || status AS k, count(*) AS n FROM blacklight.runs GROUP BY 1").rows {
            out[row["k"].stringValue ?? ""] = row["n"].intValue
        }
        return out
    }

    @Test("replay: the dry run counts (body or query), the replay starts one new run per matching run and touches nothing else")
    func replayThroughREST() async throws {
        let h = try await Self.seeded()
        defer { Task { await h.stop() } }
        let dry = try await h.post("/api/runs/replay", #"{"function":"fails","status":"failed","dry_run":true}"#)
        #expect(dry.status == 200)
        #expect(dry.json == ["action": "replay", "dry_run": true, "count": 4, "rate": "spare"])
        #expect(try await h.post("/api/runs/replay?function=fails&status=failed&dry_run=true").json["count"] == 4)
        #expect(try await h.post("/api/runs/replay", #"{"status":["failed","cancelled"],"event":"test/fails","dry_run":true}"#)
            .json["count"] == 4)
        #expect(try statuses(h) == ["fails:failed": 4, "slow:sleeping": 3, "greet:completed": 2])

        let done = try await h.post("/api/runs/replay", #"{"function":"fails","status":"failed","rate":100}"#)
        #expect(done.status == 200)
        #expect(done.json["count"] == 4)
        #expect(done.json["spread_seconds"]?.doubleValue == 0.03)
        try await Poll.suspendingUntil("the replayed runs to fail again") { try statuses(h)["fails:failed"] == 8 }
        #expect(try statuses(h) == ["fails:failed": 8, "slow:sleeping": 3, "greet:completed": 2])
        #expect(try h.count("""
            SELECT count(DISTINCT event_id) FROM blacklight.runs WHERE function_id = 'fails'
            GROUP BY event_id HAVING count(*) <> 2
            """) == -1)  // no row: every event has exactly two runs
    }

    @Test("cancel: the dry run counts live runs only; the cancel ends exactly those and leaves ended runs alone")
    func cancelThroughREST() async throws {
        let h = try await Self.seeded()
        defer { Task { await h.stop() } }
        #expect(try await h.post("/api/runs/cancel", #"{"function":"slow","dry_run":true}"#).json
            == ["action": "cancel", "dry_run": true, "count": 3])
        #expect(try await h.post("/api/runs/cancel?status=failed&dry_run=1").json["count"] == 0)
        let done = try await h.post("/api/runs/cancel?function=slow", "")
        #expect(done.json == ["action": "cancel", "dry_run": false, "count": 3])
        #expect(try statuses(h) == ["fails:failed": 4, "slow:cancelled": 3, "greet:completed": 2])
        #expect(try h.count("SELECT count(*) FROM blacklight.steps WHERE status = 'sleeping'") == 3)  // their timeline stays
        #expect(try await h.post("/api/runs/cancel", #"{"function":"slow"}"#).json["count"] == 0)
    }

    @Test("bulk filters are checked: unknown status, bad time, no filter, unknown field, bad rate and dry_run answer 400 naming it")
    func bulkRefusals() async throws {
        let h = try await ServerHarness.start(scripts: ["greet.lua": Scripts.greet])
        defer { Task { await h.stop() } }
        let cases: [(String, String, String)] = [
            ("/api/runs/cancel", #"{"status":"failed,done"}"#,
             "unknown status 'done': use one of queued, running, sleeping, waiting, completed, failed, cancelled"),
            ("/api/runs/replay", #"{"function":"greet","since":"yesterday"}"#,
             "'since' must be an ISO 8601 time (2026-01-31T12:00:00Z), a date (2026-01-31) or milliseconds since 1970"),
            ("/api/runs/replay", #"{"function":"greet","until":"nan"}"#, "'until': NaN is not a time"),
            ("/api/runs/cancel", #"{"since":"2026-11-02","until":"2026-11-01"}"#, "'since' must be before 'until'"),
            ("/api/runs/cancel", "{}", "name at least one filter (function, status, event, event_id, since, until); "
                + "a bulk action never takes every run by default"),
            ("/api/runs/cancel", #"{"functon":"greet"}"#,
             "unknown field 'functon': use dry_run, event, event_id, event_name, function, function_id, rate, since, status, until"),
            ("/api/runs/replay", #"{"function":"greet","rate":-1}"#,
             "'rate' must be a positive number of runs per second, \"spare\" (the default: as fast as the workers have room beside new events), or 0 for no pacing"),
            ("/api/runs/replay", #"{"function":"greet","dry_run":"yes"}"#, "'dry_run' must be true or false"),
            ("/api/runs/cancel", "[1]", "the body must be a JSON object"),
        ]
        for (path, body, message) in cases {
            let r = try await h.post(path, body)
            #expect(r.status == 400, "\(body)")
            #expect(r.json["error"]?.stringValue == message)
        }
        // The run's own field names are accepted for the same filters; two names for one filter must agree.
        let aliased = try await h.post("/api/runs/cancel", #"{"function_id":"greet","event_name":"test/greet","dry_run":true}"#)
        #expect(aliased.status == 200 && aliased.json["count"] == 0, "\(aliased.text)")
        let clash = try await h.post("/api/runs/cancel", #"{"function":"greet","function_id":"other"}"#)
        #expect(clash.status == 400)
        #expect(clash.json["error"]?.stringValue == "'function' and 'function_id' name the same filter and differ")
        #expect(try await h.get("/api/runs?status=done").json["error"]?.stringValue
            == "unknown status 'done': use one of queued, running, sleeping, waiting, completed, failed, cancelled")
    }

    @Test("pause: an event during the pause creates a run that does not start and is shown as paused; resume starts it")
    func pauseAndResumeThroughREST() async throws {
        let h = try await ServerHarness.start(scripts: ["greet.lua": Scripts.greet], engine: true)
        defer { Task { await h.stop() } }
        let paused = try await h.post("/api/functions/greet/pause")
        #expect(paused.json == ["id": "greet", "paused": true, "changed": true, "runs_waiting": 0])
        #expect(try await h.get("/api/functions/greet").json["paused"] == true)
        let sent = try await h.post("/e/k", #"{"name":"test/greet","data":{"name":"p"}}"#)
        let eventID = try #require(sent.json["ids"]?[0]?.stringValue)
        try await Poll.suspendingUntil("the event's run to exist") {
            try h.count("SELECT count(*) FROM blacklight.runs WHERE event_id = $1", [.text(eventID)]) == 1
        }
        let runID = try #require(try h.conn.query("SELECT id FROM blacklight.runs WHERE event_id = $1", [.text(eventID)]).scalar.stringValue)
        // The worker keeps polling; the run is parked by its claim, never started.
        try await Poll.suspendingUntil("the claim to park the run") {
            try h.count("SELECT count(*) FROM blacklight.runs WHERE id = $1 AND run_at = 'infinity'", [.text(runID)]) == 1
        }
        #expect(try h.count("SELECT count(*) FROM blacklight.runs WHERE id = $1 AND status = 'queued' AND started_at IS NULL",
                            [.text(runID)]) == 1)
        let shown = try await h.get("/api/runs/\(runID)")
        #expect(shown.json["waiting_for"] == "paused")
        #expect(shown.json["run_at"]?.stringValue?.hasPrefix("2") == true)  // the time it was due, not 'infinity'
        #expect(try await h.get("/api/runs?function=greet").json["runs"]?[0]?["waiting_for"] == "paused")
        #expect(try await h.get("/runs?function=greet").text.contains("<span class=\"waiting-for\""))
        #expect(try await h.get("/runs/\(runID)").text.contains(">paused</span>"))
        #expect(try await h.get("/functions").text.contains("data-paused=\"true\""))

        let resumed = try await h.post("/api/functions/greet/resume")
        #expect(resumed.json == ["id": "greet", "paused": false, "changed": true, "runs_resumed": 1])
        try await Poll.suspendingUntil("the run to complete after the resume") {
            try h.count("SELECT count(*) FROM blacklight.runs WHERE id = $1 AND status = 'completed'", [.text(runID)]) == 1
        }
        #expect(try await h.get("/api/runs/\(runID)").json["waiting_for"] == .null)
        #expect(try await h.post("/api/functions/nope/pause").status == 404)
        #expect(try await h.post("/api/functions/nope/resume").status == 404)
    }

    @Test("chromium: the runs page confirms a bulk replay and a bulk cancel with the dry run's count; the functions page pauses")
    func dashboardBulkActionsInChromium() async throws {
        let h = try await Self.seeded()
        defer { Task { await h.stop() } }
        let file = h.root.appendingPathComponent("bulk.py")
        try DashboardBrowser.with(Self.scenario).write(to: file, atomically: true, encoding: .utf8)
        let child = try await ChildProcess.run(["python3", file.path, h.base, DashboardTests.outputDirectory.path])
        #expect(child.status == 0, "browser: \(child.stdout)")
        let result = (try? JSONValue.parse(child.stdout.trimmingCharacters(in: .whitespacesAndNewlines))) ?? .null
        #expect(result["replay_question"] == "Replay 4 runs?")
        #expect(result["queued_before_confirm"] == 0)
        #expect(result["replay_result"] == "Replayed 4 runs.")
        #expect(result["cancel_question"] == "Cancel 3 runs?")
        #expect(result["cancelled_after_back"] == 0)
        #expect(result["cancel_result"] == "Cancelled 3 runs.")
        #expect(result["nothing_left"] == "No runs to cancel.")
        #expect(result["paused_row"] == "true")
        #expect(result["paused_run_shown"] == "paused")
        try await Poll.suspendingUntil("the replayed runs to fail again") {
            try h.count("SELECT count(*) FROM blacklight.runs WHERE function_id = 'fails' AND status = 'failed'") == 8
        }
        #expect(try statuses(h)["slow:cancelled"] == 3)
        #expect(try statuses(h)["greet:completed"] == 2)
        #expect(try h.count("SELECT count(*) FROM blacklight.functions WHERE id = 'greet' AND paused_at IS NOT NULL") == 1)
    }

    static let scenario = #"""
            def count(query):
                return js(f"fetch('/api/runs?{query}').then(r => r.json()).then(j => j.runs.length)")
            def confirm_shown():
                wait_for("!document.getElementById('bulk-confirm').classList.contains('hidden')", what="the confirmation")
                return js("document.getElementById('bulk-question').textContent")

            goto("/runs?function=fails&status=failed")
            wait_for("!!document.getElementById('bulk-replay')")
            js("document.getElementById('bulk-replay').click()")
            result["replay_question"] = confirm_shown()
            result["queued_before_confirm"] = count("function=fails&status=queued,running")
            js("document.getElementById('bulk-yes').click()")
            wait_for("document.getElementById('bulk-result').textContent !== ''", what="the replay's answer")
            result["replay_result"] = js("document.getElementById('bulk-result').textContent")

            goto("/runs?function=slow")
            js("document.getElementById('bulk-cancel').click()")
            confirm_shown()
            js("document.getElementById('bulk-no').click()")
            result["cancelled_after_back"] = count("function=slow&status=cancelled")
            js("document.getElementById('bulk-cancel').click()")
            result["cancel_question"] = confirm_shown()
            js("document.getElementById('bulk-yes').click()")
            wait_for("document.getElementById('bulk-result').textContent !== ''", what="the cancel's answer")
            result["cancel_result"] = js("document.getElementById('bulk-result').textContent")
            js("document.getElementById('bulk-cancel').click()")
            wait_for("document.getElementById('bulk-result').textContent.startsWith('No runs')", what="nothing left to cancel")
            result["nothing_left"] = js("document.getElementById('bulk-result').textContent")

            goto("/functions")
            js("document.querySelector('tr[data-function=\"greet\"] .pause button').click()")
            wait_for("document.querySelector('tr[data-function=\"greet\"]').dataset.paused === 'true'", what="greet paused")
            result["paused_row"] = js("document.querySelector('tr[data-function=\"greet\"]').dataset.paused")
            js("fetch('/api/events', {method: 'POST', headers: {'content-type': 'application/json'}, body: JSON.stringify({name: 'test/greet'})}).then(r => r.status)")
            goto("/runs?function=greet&status=queued")
            wait_for("!!document.querySelector('#runs .waiting-for')", what="the paused run in the list")
            result["paused_run_shown"] = js("document.querySelector('#runs .waiting-for').textContent")
        """#
}
