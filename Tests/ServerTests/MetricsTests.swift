import BlacklightCore
import Foundation
import Server
import Testing
import TestSupport

/// Issue 10, defect 3 (metrics): `/metrics` needed no key outside `dev`, and scanned the runs, steps and events
/// tables at each scrape. Now it takes the signing key as a Bearer token, and reads counters kept as work happens.
@Suite("Metrics")
struct MetricsTests {
    /// The value of one series (`name{labels}` exactly as exported), nil when it is not there.
    static func value(_ text: String, _ series: String) -> Double? {
        for line in text.split(separator: "\n") where line.hasPrefix(series + " ") {
            return Double(line.dropFirst(series.count + 1).trimmingCharacters(in: .whitespaces))
        }
        return nil
    }

    @Test func outsideDevMetricsTakeTheSigningKeyAsABearerToken() async throws {
        let h = try await ServerHarness.start { o in
            o.dev = false
            o.signingKey = "sk-metrics"
        }
        defer { Task { await h.stop() } }
        let none = try await h.get("/metrics")
        #expect(none.status == 401)
        #expect(none.headers["www-authenticate"]?.hasPrefix("Bearer") == true)
        #expect(!none.text.contains("blacklight_"))
        #expect(try await h.get("/metrics", headers: ["authorization": "Bearer wrong"]).status == 401)
        // A dashboard session is not a scraper's credential.
        #expect(try await h.get("/metrics", headers: ["cookie": "blacklight_session=anything"]).status == 401)
        let ok = try await h.get("/metrics", headers: ["authorization": "Bearer sk-metrics"])
        #expect(ok.status == 200)
        #expect(ok.headers["content-type"]?.hasPrefix("text/plain") == true)
        #expect(ok.text.contains("blacklight_queue_depth{status=\"queued\"} 0"))
    }

    @Test func countersMoveAsEventsAreIngestedAndRunsEnd() async throws {
        // Counters are per process and the tests share one: a function id of this test's own, and deltas.
        let tag = "m" + UUID().uuidString.prefix(8).lowercased()
        let ok = "metered-\(tag)", bad = "failing-\(tag)", nap = "napping-\(tag)"
        let h = try await ServerHarness.start(scripts: [
            "ok.lua": """
                return workflow {
                  id = "\(ok)", triggers = { { event = "test/\(ok)" } }, retries = 0,
                  run = function(ctx, step) return step.run("one", function() return 1 end) end,
                }
                """,
            "bad.lua": """
                return workflow {
                  id = "\(bad)", triggers = { { event = "test/\(bad)" } }, retries = 1,
                  run = function(ctx, step) return step.run("boom", function() error("no") end) end,
                }
                """,
            "nap.lua": """
                return workflow {
                  id = "\(nap)", triggers = { { event = "test/\(nap)" } },
                  run = function(ctx, step) step.sleep("nap", "1h") return 1 end,
                }
                """,
        ], engine: true)
        defer { Task { await h.stop() } }
        let before = Self.value(try await h.get("/metrics").text, "blacklight_events_ingested_total") ?? 0
        let sent = try await h.post("/e/k", #"[{"name":"test/\#(ok)"},{"name":"test/\#(ok)"},{"name":"test/\#(ok)"},{"name":"test/\#(bad)"}]"#)
        #expect(sent.status == 200)
        // A run cancelled through the REST API counts as cancelled.
        let napping = try await h.post("/api/functions/\(nap)/invoke", #"{"data":{}}"#)
        let napRun = try #require(napping.json["run_id"]?.stringValue)
        let port = h.port
        try await BlockingHTTP.onOwnThread {
            try Poll.until("the \(nap) run to sleep") {
                try BlockingHTTP.request("GET", port: port, "/api/runs/\(napRun)").json["status"]?.stringValue == "sleeping"
            }
        }
        #expect(try await h.post("/api/runs/\(napRun)/cancel").status == 200)

        func series(_ name: String, _ function: String) -> String { "\(name){function=\"\(function)\"}" }
        let expected: [(String, Double)] = [
            (series("blacklight_runs_started_total", ok), 3), (series("blacklight_runs_completed_total", ok), 3),
            (series("blacklight_step_duration_seconds_count", ok), 3),
            (series("blacklight_runs_started_total", bad), 1), (series("blacklight_runs_retried_total", bad), 1),
            (series("blacklight_runs_failed_total", bad), 1), (series("blacklight_step_duration_seconds_count", bad), 2),
            (series("blacklight_runs_started_total", nap), 1), (series("blacklight_runs_cancelled_total", nap), 1),
        ]
        let text = try await BlockingHTTP.onOwnThread {
            var text = ""
            try Poll.until("the counters of \(ok) and \(bad) on /metrics") {
                text = try BlockingHTTP.request("GET", port: port, "/metrics").body
                return expected.allSatisfy { Self.value(text, $0.0) == $0.1 }
            }
            return text
        }
        for (s, v) in expected { #expect(Self.value(text, s) == v, "\(s) in:\n\(text)") }
        #expect(Self.value(text, series("blacklight_runs_completed_total", bad)) == nil)
        #expect(text.contains(#"blacklight_step_duration_seconds_bucket{function="\#(ok)",le="+Inf"} 3"#))
        #expect((Self.value(text, "blacklight_events_ingested_total") ?? 0) >= before + 4)
        #expect(text.contains("# TYPE blacklight_step_duration_seconds histogram"))
        #expect(text.contains("blacklight_queue_depth{status=\"queued\"}"))
    }
}
