import BlacklightCore
import Engine
import Foundation
import Matching
import PGStore
import Testing
import TestSupport

@Suite("Job-matching workflows", .serialized)
struct WorkflowTests {
    typealias F = MatchingFixture

    @Test("jobs/imported matches candidates preferring the job's role by id or by name (any case), skipping the rest")
    func roleMatchingByIDAndName() throws {
        let h = try F.harness()
        let ds = try F.role(h, "Data Scientists"), other = try F.role(h, "Chefs")
        let job = try F.job(h, role: ds)
        let byName = try F.candidate(h, prefers: ["data SCIENTISTS"])
        let byID = try F.candidate(h, prefers: [.int(ds)])
        let byIDText = try F.candidate(h, prefers: [.string(String(ds))])
        try F.candidate(h, prefers: [.int(other)])                           // another role
        try F.candidate(h, status: "pending_review", prefers: [.int(ds)])    // not approved
        try F.candidate(h, prefers: [.int(ds)], embedded: false)              // no embedding
        let ready = try F.candidate(h, status: "ready_for_assignment", prefers: ["Data Scientists"])
        try h.send("jobs/imported", ["job_ids": [.int(job)], "batch_id": "b1", "source": "test"])
        try h.drain()
        let run = try h.onlyRun("match-jobs-to-candidates")
        #expect(run["status"].stringValue == "completed", "\(String(describing: h.error(run)))")
        let out = try #require(h.output(run))
        #expect(out["batch_id"] == "b1" && out["source"] == "test")
        #expect(out["jobs_processed"] == 1 && out["embeddings_generated"] == 1 && out["candidates_found"] == 4)
        let stored = try F.matches(h)
        #expect(out["matches_created"]?.intValue == Int64(stored.count))
        #expect(Set(stored.compactMap { $0["candidate_id"].intValue }) == [byName, byID, byIDText, ready])
        let m = stored[0]
        #expect(m["matched_skills"].arrayValue?.compactMap(\.stringValue) == ["Python", "SQL", "Statistics"])
        #expect(m["skill_match_score"].doubleValue == 100)
        #expect((m["match_reasons"].arrayValue ?? []).contains { $0.stringValue?.hasPrefix("Matches 3 of 3 skills") == true })
        #expect(m["is_recommended"].boolValue == true)
        #expect(try h.scalar("SELECT embedding IS NOT NULL FROM job_postings WHERE id = $1", [.int(job)]).boolValue == true)
    }

    @Test("an empty job_ids list returns at once with zero matches")
    func emptyJobIDs() throws {
        let h = try F.harness()
        try h.send("jobs/imported", ["job_ids": [], "batch_id": "b0", "source": "x"])
        try h.drain()
        let run = try h.onlyRun("match-jobs-to-candidates")
        #expect(h.output(run) == ["batch_id": "b0", "source": "x", "jobs_processed": 0, "embeddings_generated": 0,
                                  "candidates_found": 0, "matches_created": 0])
        #expect(try h.steps(run["id"].stringValue!).isEmpty)
    }

    @Test("existing pairs are skipped, and re-sending the same event id duplicates nothing")
    func existingPairsAndDuplicateEvent() throws {
        let h = try F.harness()
        let ds = try F.role(h, "Data Scientists")
        let job = try F.job(h, role: ds)
        let a = try F.candidate(h, prefers: [.int(ds)]), b = try F.candidate(h, prefers: [.int(ds)])
        try h.conn.exec("""
            INSERT INTO candidate_job_matches (candidate_id, job_posting_id, match_score) VALUES ($1, $2, 99)
            """, [.int(a), .int(job)])
        try h.send("jobs/imported", ["job_ids": [.int(job)], "batch_id": "b2", "source": "t"], id: "import-b2")
        try h.send("jobs/imported", ["job_ids": [.int(job)], "batch_id": "b2", "source": "t"], id: "import-b2")
        try h.drain()
        #expect(try h.runs(function: "match-jobs-to-candidates").count == 1)
        let out = h.output(try h.onlyRun("match-jobs-to-candidates"))
        #expect(out?["candidates_found"] == 1 && out?["matches_created"] == 1)
        let stored = try F.matches(h)
        #expect(stored.count == 2)
        #expect(stored.first { $0["candidate_id"].intValue == a }?["match_score"].doubleValue == 99)
        #expect(stored.contains { $0["candidate_id"].intValue == b })
    }

    @Test("generate-candidate-matches fails without retrying on an unknown candidate or a tenant mismatch")
    func tenantMismatch() throws {
        let h = try F.harness()
        let c = try F.candidate(h, tenant: "acme", prefers: [])
        try h.send("job-match/generate-candidate", ["candidate_id": .int(c), "tenant_id": "globex", "trigger": "manual"])
        try h.send("job-match/generate-candidate", ["candidate_id": 999_999, "tenant_id": "acme", "trigger": "manual"])
        try h.drain()
        let runs = try h.runs(function: "generate-candidate-matches")
        #expect(runs.allSatisfy { $0["status"].stringValue == "failed" && $0["attempt"].intValue == 1 })
        let messages = runs.compactMap { h.error($0)?["message"]?.stringValue }.sorted()
        #expect(messages == ["candidate \(c) belongs to tenant 'acme', not 'globex'", "candidate 999999 does not exist"].sorted())
    }

    @Test("generate-candidate-matches replaces the candidate's matches atomically and marks onboarding approvals ready")
    func atomicReplacement() throws {
        let h = try F.harness()
        let ds = try F.role(h, "Data Scientists")
        let keep = try F.job(h, role: ds)
        let gone = try F.job(h, title: "Old posting", role: ds)
        let weak = try F.job(h, title: "Pastry Chef", role: nil, skills: ["Baking", "Pastry", "Chocolate", "Sugar"],
                             location: "Lima, Peru", salaryMax: 30_000, experience: 10)
        let c = try F.candidate(h, prefers: [.int(ds)])
        try h.send("job-match/generate-candidate", ["candidate_id": .int(c), "tenant_id": "t1", "trigger": "manual"])
        try h.drain()
        let first = try F.matches(h)
        #expect(Set(first.compactMap { $0["job_posting_id"].intValue }) == [keep, gone])
        let keptID = first.first { $0["job_posting_id"].intValue == keep }?["id"].intValue
        try h.conn.exec("UPDATE job_postings SET status = 'closed' WHERE id = $1", [.int(gone)])
        try h.send("job-match/generate-candidate", ["candidate_id": .int(c), "tenant_id": "t1", "trigger": "onboarding_approval"])
        try h.drain()
        let second = try F.matches(h)
        #expect(second.compactMap { $0["job_posting_id"].intValue } == [keep])
        // Updated in place, not deleted and re-inserted: readers never saw the candidate without matches.
        #expect(second.first?["id"].intValue == keptID)
        #expect(!second.contains { $0["job_posting_id"].intValue == weak })
        #expect(try h.scalar("SELECT status FROM candidates WHERE id = $1", [.int(c)]).stringValue == "ready_for_assignment")
        let out = h.output(try h.runs(function: "generate-candidate-matches").last!)
        #expect(out?["matches_removed"] == 1 && out?["status_updated"] == true)
    }

    @Test("refresh-candidate-matches recomputes scores and drops matches now below 50")
    func refreshDropsBelowThreshold() throws {
        let h = try F.harness()
        let ds = try F.role(h, "Data Scientists")
        let job = try F.job(h, role: ds)
        let c = try F.candidate(h, prefers: [.int(ds)])
        try h.send("jobs/imported", ["job_ids": [.int(job)]])
        try h.drain()
        #expect(try F.matches(h).count == 1)
        try h.conn.exec("""
            UPDATE candidates SET skills = '{Knitting}', location = 'Lima, Peru', willing_to_relocate = false,
                   expected_salary = 500000, years_experience = 0, embedding = NULL WHERE id = $1
            """, [.int(c)])
        try h.send("job-match/refresh-candidate", ["candidate_id": .int(c), "tenant_id": "t1"])
        try h.drain()
        #expect(h.output(try h.onlyRun("refresh-candidate-matches")) == ["candidate_id": .int(c), "rescored": 1, "kept": 0, "dropped": 1])
        #expect(try F.matches(h).isEmpty)
    }

    @Test("update-job-embedding skips unless a text field changed, else re-embeds and re-scores")
    func updateJobEmbedding() throws {
        let h = try F.harness()
        let ds = try F.role(h, "Data Scientists")
        let job = try F.job(h, role: ds)
        try F.candidate(h, prefers: [.int(ds)])
        try h.send("jobs/imported", ["job_ids": [.int(job)]])
        try h.drain()
        try h.send("job-posting/updated", ["job_id": .int(job), "changed_fields": ["salary_max"]])
        try h.conn.exec("UPDATE job_postings SET skills = '{Python,SQL,Statistics,Spark}' WHERE id = $1", [.int(job)])
        try h.send("job-posting/updated", ["job_id": .int(job), "changed_fields": ["skills"]])
        try h.drain()
        let runs = try h.runs(function: "update-job-embedding")
        #expect(h.output(runs[0]) == ["job_id": .int(job), "skipped": true, "reason": "no text field changed"])
        #expect(h.output(runs[1])?["rescored"] == 1)
        #expect(try F.matches(h).first?["missing_skills"].arrayValue?.compactMap(\.stringValue) == ["Spark"])
    }

    @Test("backfill-embeddings fills missing embeddings in batches and reports each failed row with its reason")
    func backfillWithFailingRow() throws {
        let h = try F.harness(setupSQL: nil)
        let ids = try (0..<5).map { _ in try F.candidate(h, prefers: [], embedded: false) }
        try h.conn.execScript("""
            CREATE FUNCTION refuse_embedding() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
              IF NEW.id = \(ids[2]) AND NEW.embedding IS NOT NULL THEN RAISE EXCEPTION 'row % is locked by compliance', NEW.id; END IF;
              RETURN NEW;
            END $$;
            CREATE TRIGGER refuse BEFORE UPDATE ON candidates FOR EACH ROW EXECUTE FUNCTION refuse_embedding();
            """)
        try h.send("system/backfill-embeddings", ["entity_type": "candidates", "batch_size": 2])
        try h.drain()
        let run = try h.onlyRun("backfill-embeddings")
        let out = try #require(h.output(run), "\(String(describing: h.error(run)))")
        #expect(out["processed"] == 4 && out["batches"] == 3)
        let failed = out["failed"]?.arrayValue ?? []
        #expect(failed.count == 1 && failed[0]["id"]?.intValue == ids[2])
        #expect(failed[0]["error"]?.stringValue?.contains("row \(ids[2]) is locked by compliance") == true)
        #expect(try h.scalar("SELECT count(*) FROM candidates WHERE embedding IS NOT NULL").intValue == 4)
    }

    @Test("expire-old-jobs expires at exactly 30 days (posted or imported) and deletes their matches")
    func expireEdges() throws {
        let h = try F.harness()
        let ds = try F.role(h, "Data Scientists")
        let posted30 = try F.job(h, role: ds, posted: "now()")
        try h.conn.exec("UPDATE job_postings SET posted_date = current_date - 30 WHERE id = $1", [.int(posted30)])
        let posted29 = try F.job(h, role: ds)
        try h.conn.exec("UPDATE job_postings SET posted_date = current_date - 29 WHERE id = $1", [.int(posted29)])
        let imported31 = try F.job(h, role: ds)
        try h.conn.exec("UPDATE job_postings SET imported_at = now() - interval '30 days 1 minute' WHERE id = $1", [.int(imported31)])
        let imported29 = try F.job(h, role: ds)
        try h.conn.exec("UPDATE job_postings SET imported_at = now() - interval '29 days 23 hours' WHERE id = $1", [.int(imported29)])
        let c = try F.candidate(h, prefers: [])
        try h.conn.exec("INSERT INTO candidate_job_matches (candidate_id, job_posting_id, match_score) VALUES ($1, $2, 80), ($1, $3, 80)",
                        [.int(c), .int(posted30), .int(posted29)])
        try h.invoke("expire-old-jobs")
        try h.drain()
        #expect(h.output(try h.onlyRun("expire-old-jobs")) == ["jobs_expired": 2, "matches_deleted": 1])
        let expired = try h.conn.query("SELECT id FROM job_postings WHERE status = 'expired' ORDER BY id").rows.compactMap { $0[0].intValue }
        #expect(expired == [posted30, imported31])
    }

    @Test("cleanup-stale-sessions fails sessions silent for 30 minutes and returns their role to pending")
    func staleSessionEdges() throws {
        let h = try F.harness()
        let stale = try F.role(h, "Stale role"), fresh = try F.role(h, "Fresh role")
        try h.conn.exec("UPDATE global_roles SET scrape_status = 'in_progress'")
        try h.conn.exec("""
            INSERT INTO scraper_sessions (role_id, status, last_heartbeat_at) VALUES
              ($1, 'in_progress', now() - interval '31 minutes'), ($2, 'in_progress', now() - interval '29 minutes'),
              ($2, 'completed', now() - interval '3 hours')
            """, [.int(stale), .int(fresh)])
        try h.invoke("cleanup-stale-sessions")
        try h.drain()
        #expect(h.output(try h.onlyRun("cleanup-stale-sessions")) == ["sessions_failed": 1, "roles_reset": 1])
        let failed = try h.conn.query("SELECT role_id, error FROM scraper_sessions WHERE status = 'failed'").rows
        #expect(failed.count == 1 && failed[0]["role_id"].intValue == stale)
        #expect(failed[0]["error"].stringValue?.contains("stale for over 30 minutes") == true)
        #expect(try h.scalar("SELECT scrape_status FROM global_roles WHERE id = $1", [.int(stale)]).stringValue == "pending")
        #expect(try h.scalar("SELECT scrape_status FROM global_roles WHERE id = $1", [.int(fresh)]).stringValue == "in_progress")
    }

    @Test("reset-completed-roles sends completed roles back to pending")
    func resetRoles() throws {
        let h = try F.harness()
        let a = try F.role(h, "A"), b = try F.role(h, "B")
        try h.conn.exec("UPDATE global_roles SET scrape_status = 'completed' WHERE id = $1", [.int(a)])
        try h.conn.exec("UPDATE global_roles SET scrape_status = 'failed' WHERE id = $1", [.int(b)])
        try h.invoke("reset-completed-roles")
        try h.drain()
        #expect(h.output(try h.onlyRun("reset-completed-roles")) == ["roles_reset": 1])
        #expect(try h.scalar("SELECT scrape_status FROM global_roles WHERE id = $1", [.int(b)]).stringValue == "failed")
    }
}
