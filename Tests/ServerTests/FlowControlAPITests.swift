import BlacklightCore
import Foundation
import Testing
import TestSupport

/// What the API and the dashboard show of flow control (issue 11): why a run waits, and the events that started no
/// run (skipped).
@Suite("Flow control in the API and dashboard")
struct FlowControlAPITests {
    static let scripts = [
        "batched.lua": """
            return workflow {
              id = "batched", triggers = { { event = "jobs/imported" } },
              batch_events = { max_size = 100, timeout = "1h", key = "event.data.source" },
              run = function(ctx, step) return #ctx.events end,
            }
            """,
        "debounced.lua": """
            return workflow {
              id = "debounced", triggers = { { event = "job/edited" } },
              debounce = { period = "1h", key = "event.data.job_id" },
              run = function(ctx, step) return 1 end,
            }
            """,
        "throttled.lua": """
            return workflow {
              id = "throttled", triggers = { { event = "tenant/sync" } },
              throttle = { limit = 1, period = "1h" },
              run = function(ctx, step) return 1 end,
            }
            """,
        "limited.lua": """
            return workflow {
              id = "limited", triggers = { { event = "cand/viewed" } },
              rate_limit = { limit = 1, period = "4h", key = "event.data.candidate_id" },
              run = function(ctx, step) return 1 end,
            }
            """,
    ]

    @Test("a waiting run says why (batching, debounced, throttled); a skipped event lists the function and reason")
    func reasons() async throws {
        let h = try await ServerHarness.start(scripts: Self.scripts, engine: true)
        defer { Task { await h.stop() } }
        let sent = try await h.post("/e/k", """
            [{"name":"jobs/imported","data":{"source":"scraper","job_id":1}},
             {"name":"job/edited","data":{"job_id":7}},
             {"name":"job/edited","data":{"job_id":7}},
             {"name":"tenant/sync","data":{}},
             {"name":"tenant/sync","data":{}},
             {"name":"cand/viewed","data":{"candidate_id":42}},
             {"name":"cand/viewed","data":{"candidate_id":42}}]
            """)
        let ids = (sent.json["ids"]?.arrayValue ?? []).compactMap(\.stringValue)
        try #require(ids.count == 7, "\(sent.status) \(sent.text)")
        // The first throttled run starts at once; the second waits an hour for its slot.
        try await Poll.suspendingUntil("the runs that may start to complete") {
            try h.count("SELECT count(*) FROM blacklight.runs WHERE status = 'completed'") == 2
        }
        func reason(_ function: String) async throws -> JSONValue? {
            let runs = try await h.get("/api/runs?function=\(function)&status=queued").json["runs"]?.arrayValue ?? []
            #expect(runs.count == 1, "\(function): \(runs)")
            return runs.first?["waiting_for"]
        }
        #expect(try await reason("batched") == "batching")
        #expect(try await reason("debounced") == "debounced")
        #expect(try await reason("throttled") == "throttled")
        let page = try await h.get("/runs?function=batched").text
        #expect(page.contains(">batching</span>"))

        // The second edit replaced the first in the debounced run; the second view was over the rate limit.
        let edited = try await h.get("/api/events/\(ids[1])").json
        #expect(edited["skipped"]?[0]?["reason"] == "debounce")
        #expect(edited["skipped"]?[0]?["function_id"] == "debounced")
        let viewed = try await h.get("/api/events/\(ids[6])").json
        #expect(viewed["skipped"] == [["function_id": "limited", "reason": "rate_limit", "key": "42", "run_id": .null,
                                       "at": viewed["skipped"]?[0]?["at"] ?? .null]])
        #expect(viewed["runs"] == [])
        let html = try await h.get("/events/\(ids[6])").text
        #expect(html.contains("data-reason=\"rate_limit\""))
        #expect(html.contains("over the rate limit"))
        #expect(try await h.get("/api/events/\(ids[5])").json["skipped"] == [])
    }
}
