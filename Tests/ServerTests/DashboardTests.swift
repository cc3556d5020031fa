import BlacklightCore
import Foundation
import Testing
import TestSupport

@Suite("Dashboard")
struct DashboardTests {
    /// `.build/test-output/` of this package.
    static var outputDirectory: URL {
        let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent(".build/test-output")
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    static func insertRuns(_ h: ServerHarness, _ n: Int) throws {
        try h.conn.exec("""
            INSERT INTO blacklight.runs (id, function_id, version, max_attempts, status, created_at, started_at, ended_at, output)
            SELECT blacklight.ulid(), 'greet', 'seeded', 1, (ARRAY['completed','failed','queued'])[1 + i % 3],
                   now() - make_interval(secs => i), now() - make_interval(secs => i), now() - make_interval(secs => i) + interval '5 ms',
                   jsonb_build_object('i', i)
            FROM generate_series(1, $1::int) i
            """, [.int(Int64(n))])
        try h.conn.exec("UPDATE blacklight.runs SET run_at = now() + interval '1 day' WHERE version = 'seeded'")
    }

    @Test func pagesRenderAndEscapeWithTenThousandRuns() async throws {
        let h = try await ServerHarness.start(scripts: ["greet.lua": Scripts.greet])
        defer { Task { await h.stop() } }
        try Self.insertRuns(h, 10_000)
        _ = try await h.post("/e/k", #"{"name":"test/greet","data":{"x":"<script>alert(1)</script>"}}"#)
        // Keyset pagination: the page holds 50 of the 10,000 runs and links to older ones. (A wall-clock
        // bound here failed under load; speed belongs in `blacklight bench`, not in a unit test.)
        let runs = try await h.get("/runs")
        #expect(runs.status == 200)
        #expect(runs.text.components(separatedBy: "<tr data-run=").count - 1 == 50)
        #expect(runs.text.contains("Older runs"))
        let filtered = try await h.get("/runs?status=failed&function=greet")
        #expect(filtered.text.components(separatedBy: "data-status=\"failed\"").count - 1 == 50)
        let future = try await h.get("/runs?since=2999-01-01T00:00")
        #expect(future.text.contains("No runs."))
        #expect(future.text.contains("value=\"2999-01-01T00:00\""))
        let fragment = try await h.get("/runs?fragment=1")
        #expect(!fragment.text.contains("<html"))
        let events = try await h.get("/events")
        #expect(events.status == 200)
        #expect(events.text.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
        #expect(!events.text.contains("<script>alert(1)"))
        #expect(try await h.get("/functions").status == 200)
        #expect(try await h.get("/runs/NOPE").status == 404)
    }

    @Test func chromiumSendsAnEventFromThePageAndSeesTheRunComplete() async throws {
        let h = try await ServerHarness.start(scripts: ["greet.lua": Scripts.greet], engine: true)
        defer { Task { await h.stop() } }
        try Self.insertRuns(h, 10_000)
        let file = h.root.appendingPathComponent("browser.py")
        try DashboardBrowser.script.write(to: file, atomically: true, encoding: .utf8)
        let out = Self.outputDirectory
        try? FileManager.default.removeItem(at: out.appendingPathComponent("run-page.png"))
        let child = try await ChildProcess.run(["python3", file.path, h.base, out.path])
        let text = child.stdout
        #expect(child.status == 0, "browser: \(text)")
        let result = (try? JSONValue.parse(text.trimmingCharacters(in: .whitespacesAndNewlines))) ?? .null
        #expect(result["/functions"]?.stringValue == "Functions · Blacklight")
        #expect(result["/runs"]?.stringValue == "Runs · Blacklight")
        #expect(result["/events"]?.stringValue == "Events · Blacklight")
        #expect(result["runs_rows"]?.intValue == 50)
        #expect(result["run_status"]?.stringValue == "completed")
        #expect(result["run_output"]?.stringValue?.contains("<b>chromium</b><b>chromium</b>") == true)
        #expect(result["runs_page_has_run"]?.boolValue == true)
        #expect(result["bars_placed"]?.boolValue == true)
        #expect(result["csp_violations"] == .array([]), "blocked by the Content-Security-Policy: \(result["csp_violations"] ?? .null)")
        #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent("run-page.png").path))
    }
}

@Suite("Run page")
struct RunPageTests {
    @Test func aFailedRunShowsItsErrorWithTheLuaTracebackEscaped() async throws {
        let h = try await ServerHarness.start(scripts: ["bad.lua": """
            return workflow {
              id = "bad",
              triggers = { { event = "test/bad" } },
              retries = 0,
              run = function(ctx, step)
                step.run("ok", function() return "<i>fine</i>" end)
                step.run("explode", function() error("no <skills> here") end)
              end,
            }
            """], engine: true)
        defer { Task { await h.stop() } }
        _ = try await h.post("/e/k", #"{"name":"test/bad"}"#)
        #expect(try await Poll.suspendingHolds { try h.count("SELECT count(*) FROM blacklight.runs WHERE status = 'failed'") == 1 })
        let id = try #require(try h.conn.query("SELECT id FROM blacklight.runs").scalar.stringValue)
        let page = try await h.get("/runs/\(id)")
        #expect(page.status == 200)
        #expect(page.text.contains("scripts/bad.lua:7: no &lt;skills&gt; here"))
        #expect(page.text.contains("stack traceback"))
        #expect(page.text.contains("&lt;i&gt;fine&lt;/i&gt;"))
        #expect(page.text.contains("Rerun from this step"))
        #expect(!page.text.contains("id=\"cancel\""))
    }
}
