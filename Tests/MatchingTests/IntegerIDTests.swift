import BlacklightCore
import Engine
import Foundation
import Matching
import PGStore
import Testing
import TestSupport

/// Issue 10, defect 6: the app sends ids as integers (`approve_candidate_onboarding(invitation_id: int, tenant_id: int)`)
/// while `candidates.tenant_id` is text; the workflows compare ids by value (plugins/ids.lua).
@Suite("Ids as the app sends them", .serialized)
struct IntegerIDTests {
    typealias F = MatchingFixture

    @Test("regression: job-match/generate-candidate with tenant_id as an integer runs to completion")
    func appPayloadWithIntegerTenant() throws {
        let h = try F.harness()
        let ds = try F.role(h, "Data Scientists")
        let job = try F.job(h, role: ds)
        let c = try F.candidate(h, tenant: "1", prefers: [.int(ds)])
        // The event as approve_candidate_onboarding sends it.
        try h.send("job-match/generate-candidate", ["candidate_id": .int(c), "tenant_id": 1, "invitation_id": 7,
                                                    "trigger": "onboarding_approval"])
        try h.drain()
        let run = try h.onlyRun("generate-candidate-matches")
        #expect(run["status"].stringValue == "completed", "\(String(describing: h.error(run)))")
        #expect(h.output(run)?["status_updated"] == true && h.output(run)?["matches_stored"] == 1)
        #expect(try F.matches(h).compactMap { $0["job_posting_id"].intValue } == [job])
        #expect(try h.scalar("SELECT status FROM candidates WHERE id = $1", [.int(c)]).stringValue == "ready_for_assignment")
    }

    @Test("ids compare by value in refresh-candidate-matches too: \"1\", 1 and 1.0 are one tenant, 2 is another")
    func refreshComparesByValue() throws {
        let h = try F.harness()
        let ds = try F.role(h, "Data Scientists")
        try F.job(h, role: ds)
        let c = try F.candidate(h, tenant: "1", prefers: [.int(ds)])
        try h.send("job-match/refresh-candidate", ["candidate_id": .string(String(c)), "tenant_id": "1"])
        try h.send("job-match/refresh-candidate", ["candidate_id": .int(c), "tenant_id": 1])
        try h.send("job-match/refresh-candidate", ["candidate_id": .int(c), "tenant_id": .double(1)])
        try h.send("job-match/refresh-candidate", ["candidate_id": .int(c), "tenant_id": 2])
        try h.drain()
        let runs = try h.runs(function: "refresh-candidate-matches")
        #expect(runs.map { $0["status"].stringValue ?? "" }.sorted() == ["completed", "completed", "completed", "failed"])
        let failed = try #require(runs.first { $0["status"].stringValue == "failed" })
        #expect(h.error(failed)?["message"]?.stringValue == "candidate \(c) belongs to another tenant")
    }

    @Test("ids.same: integers however written are equal; other values compare as text")
    func idsSame() throws {
        let h = try F.harness(extraPlugins: [:])
        try h.write(script: "probe.lua", """
            local ids = require("ids")
            return workflow {
              id = "ids-probe",
              triggers = { { event = "test/ids" } },
              run = function(ctx, step)
                return {
                  ids.same(1, "1"), ids.same("1", 1.0), ids.same(" 01", 1), ids.same(-3, "-3"), ids.same("acme", "acme"),
                  ids.same(1, 2), ids.same("1", "1a"), ids.same("acme", "globex"), ids.same(nil, 0), ids.same(1.5, "1.5"),
                  ids.same("99999999999999999999", "99999999999999999999"), ids.same("99999999999999999999", 1e20),
                }
              end,
            }
            """)
        try h.load()
        try h.send("test/ids")
        try h.drain()
        let out = h.output(try h.onlyRun("ids-probe"))
        #expect(out == [true, true, true, true, true, false, false, false, false, true, true, false])
    }
}
