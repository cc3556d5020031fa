import BlacklightCore
import Engine
import Foundation
import Matching
import PGStore
import Testing
import TestSupport
import VectorScoring

/// The workflows on the native sentence model, and what happens to stored vectors when the embedder changes.
@Suite("Workflows on the sentence model", .serialized)
struct SentenceModelWorkflowTests {
    typealias F = MatchingFixture

    func models(_ h: Harness, _ table: String) throws -> [String?] {
        try h.conn.query("SELECT embedding_model FROM \(table) ORDER BY id").rows.map { $0[0].stringValue }
    }

    @Test("backfill-embeddings re-embeds the rows another embedder made, and only those, after the embedder changes")
    func backfillAfterEmbedderChange() throws {
        let hashing = try F.harness()
        let role = try F.role(hashing, "Physicians")
        let jobs = try ["Doctor", "Surgeon", "Carpenter"].map { try F.job(hashing, title: $0, role: role) }
        let candidates = try (0..<3).map { _ in try F.candidate(hashing, prefers: [.int(role)], embedded: false) }
        for kind in ["jobs", "candidates"] { try hashing.send("system/backfill-embeddings", ["entity_type": .string(kind)]) }
        try hashing.drain()
        #expect(try models(hashing, "job_postings") == Array(repeating: "hashing-384@1", count: 3))
        #expect(try models(hashing, "candidates") == Array(repeating: "hashing-384@1", count: 3))
        // A vector written by something else than an embed call is of an unknown embedder.
        try hashing.conn.exec("UPDATE candidates SET embedding = embedding WHERE id = $1", [.int(candidates[0])])
        try hashing.conn.exec("UPDATE candidates SET embedding = array_fill(0.1::real, ARRAY[384]) WHERE id = $1",
                              [.int(candidates[1])])
        #expect(try models(hashing, "candidates") == ["hashing-384@1", nil, "hashing-384@1"])

        // The deployment now has the model: its workers embed with it and the backfill finds every row to redo.
        let provider = try F.sentenceProvider()
        let h = try F.harness(sharing: hashing, provider: provider)
        let before = try h.scalar("SELECT max(embedding_updated_at) FROM job_postings").dateValue
        for kind in ["jobs", "candidates"] {
            try h.send("system/backfill-embeddings", ["entity_type": .string(kind), "batch_size": 2])
        }
        try h.drain()
        let runs = try h.runs(function: "backfill-embeddings").suffix(2)
        for run in runs {
            #expect(run["status"].stringValue == "completed", "\(String(describing: h.error(run)))")
            let out = try #require(h.output(run))
            #expect(out["processed"] == 3 && out["total"] == 3 && out["batches"] == 2)
            let failed: [JSONValue] = out["failed"]?.arrayValue ?? []
            #expect(failed.isEmpty, "\(out)")
            #expect(out["model"]?.stringValue == provider.identity)
        }
        #expect(try models(h, "job_postings") == Array(repeating: provider.identity, count: 3))
        #expect(try models(h, "candidates") == Array(repeating: provider.identity, count: 3))
        #expect(try h.scalar("SELECT min(embedding_updated_at) FROM job_postings").dateValue ?? .distantPast > before ?? .distantFuture)
        // The stored vector is the model's vector of the job's text (title, skills, description).
        let stored = try h.conn.query("SELECT embedding FROM job_postings WHERE id = $1", [.int(jobs[0])]).rows[0]["embedding"]
        guard case .float4Array(let values) = stored else { throw MatchingError("no embedding stored") }
        let expected = try provider.embed([("Doctor\nWe need a Doctor to build models.", ["Python", "SQL", "Statistics"])])[0]
        #expect(try VectorMath.cosine(Vector(values), expected) > 0.9999)

        // Nothing is left to do: a second backfill touches no row.
        try h.send("system/backfill-embeddings", ["entity_type": "jobs"])
        try h.drain()
        let last = try #require(try h.runs(function: "backfill-embeddings").last)
        let again = try #require(h.output(last))
        #expect(again["processed"] == 0 && again["total"] == 0)
    }

    @Test("jobs/imported embeds the new jobs with the model and scores candidates by meaning: Physician meets Doctor")
    func importMatchesByMeaning() throws {
        let provider = try F.sentenceProvider()
        let h = try F.harness(provider: provider)
        let role = try F.role(h, "Physicians")
        let skills = ["Patient care", "Diagnosis"]
        let doctor = try F.job(h, title: "Doctor", role: role, skills: skills)
        let carpenter = try F.job(h, title: "Carpenter", role: role, skills: skills)
        let candidate = try F.candidate(h, prefers: [.int(role)], skills: skills, embedded: false)
        try h.conn.exec("UPDATE candidates SET headline = 'Physician' WHERE id = $1", [.int(candidate)])
        try h.send("system/backfill-embeddings", ["entity_type": "candidates"])
        try h.drain()
        try h.send("jobs/imported", ["job_ids": [.int(doctor), .int(carpenter)], "batch_id": "b1", "source": "test"])
        try h.drain()
        let run = try h.onlyRun("match-jobs-to-candidates")
        #expect(run["status"].stringValue == "completed", "\(String(describing: h.error(run)))")
        #expect(h.output(run)?["embeddings_generated"] == 2)
        #expect(try models(h, "job_postings") == [provider.identity, provider.identity])

        let semantic = Dictionary(uniqueKeysWithValues: try F.matches(h).compactMap { row -> (Int64, Double)? in
            guard let job = row["job_posting_id"].intValue, let s = row["semantic_similarity"].doubleValue else { return nil }
            return (job, s)
        })
        // Exactly the cosine of the model's vectors of the two texts, as the workflow builds them (plugins/texts.lua).
        let v = try provider.embed([("Physician", skills), ("Doctor\nWe need a Doctor to build models.", skills),
                                    ("Carpenter\nWe need a Carpenter to build models.", skills)])
        let expectedDoctor = Double(try VectorMath.cosine(v[0], v[1]))
        let doctorScore = try #require(semantic[doctor])
        #expect(abs(doctorScore - expectedDoctor) < 1e-3)
        // A carpenter may not be stored at all (score below 50); when it is, its similarity is far below the doctor's.
        #expect(semantic[carpenter].map { doctorScore - $0 > 0.1 } ?? true, "\(semantic)")
    }

    @Test("embed.text and embed.batch record their embedder with any embedding written in the same step")
    func embeddingsRecordTheirEmbedder() throws {
        let provider = try F.sentenceProvider()
        let h = try F.harness(provider: provider)
        let role = try F.role(h, "Physicians")
        let job = try F.job(h, title: "Doctor", role: role)
        try h.send("job-posting/updated", ["job_id": .int(job), "changed_fields": ["title"]])
        try h.drain()
        let run = try h.onlyRun("update-job-embedding")
        #expect(run["status"].stringValue == "completed", "\(String(describing: h.error(run)))")
        #expect(try models(h, "job_postings") == [provider.identity])
        // Outside a step's transaction nothing is recorded: a plain UPDATE of the vector leaves it unknown, and a
        // statement may name the model itself.
        try h.conn.exec("UPDATE job_postings SET embedding = array_fill(0.2::real, ARRAY[384])")
        #expect(try models(h, "job_postings") == [nil])
        try h.conn.exec("UPDATE job_postings SET embedding = array_fill(0.3::real, ARRAY[384]), embedding_model = 'app-model@7'")
        #expect(try models(h, "job_postings") == ["app-model@7"])
        try h.conn.exec("UPDATE job_postings SET embedding = NULL")
        #expect(try models(h, "job_postings") == [nil])
    }
}
