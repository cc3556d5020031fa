import BlacklightCore
import Engine
import Foundation
import Matching
import PGStore
import Testing
import TestSupport

@Suite("vec and embed from Lua", .serialized)
struct VectorAPITests {
    typealias F = MatchingFixture

    static let probe = """
        return workflow {
          id = "vec-probe",
          triggers = { { event = "test/vec" } },
          run = function(ctx, step)
            local q = embed.text(ctx.event.data.query, ctx.event.data.skills)
            local hits = step.run("top", function() return vec.top_k(q, { k = 2, threshold = 0.05 }) end)
            local a, b = embed.text("python sql"), embed.text("python sql")
            local m = vec.matrix({ a, b }, { a })
            local row = db.one("SELECT embedding FROM job_postings ORDER BY id LIMIT 1")
            return { hits = hits, same = vec.cosine(a, b), dim = #a, matrix = m[2][1], is_vec = vec.is(row.embedding),
                     provider = embed.provider(), stored_dim = row.embedding:dim() }
          end,
        }
        """

    @Test("top-k over the cached job embeddings follows row changes; vectors cross SQL as real[] userdata")
    func topKFollowsChanges() throws {
        let h = try F.harness()
        try h.write(script: "probe.lua", Self.probe)
        try h.load()
        let ds = try F.role(h, "Data Scientists")
        let data = try F.job(h, title: "Data Scientist", role: ds, skills: ["Python", "SQL"])
        let chef = try F.job(h, title: "Pastry Chef", role: nil, skills: ["Baking", "Pastry"])
        try h.send("system/backfill-embeddings", ["entity_type": "jobs"])
        try h.drain()
        try h.send("test/vec", ["query": "data scientist python", "skills": ["Python", "SQL"]])
        try h.drain()
        var out = try #require(h.output(try h.onlyRun("vec-probe")))
        #expect(out["hits"]?[0]?["id"]?.intValue == data)
        #expect(out["same"]?.doubleValue ?? 0 > 0.999 && out["dim"] == 384 && out["is_vec"] == true && out["stored_dim"] == 384)
        #expect(out["matrix"]?.doubleValue ?? 0 > 0.999)
        #expect(out["provider"] == "hashing:384")
        // Rewrite the chef posting into a data job: the cache must notice.
        try h.conn.exec("UPDATE job_postings SET status = 'closed' WHERE id = $1", [.int(data)])
        try h.conn.exec("UPDATE job_postings SET title = 'Data Scientist', skills = '{Python,SQL}', embedding = NULL WHERE id = $1", [.int(chef)])
        try h.send("system/backfill-embeddings", ["entity_type": "jobs"])
        try h.send("test/vec", ["query": "data scientist python", "skills": ["Python", "SQL"]])
        try h.drain()
        out = try #require(h.output(try h.runs(function: "vec-probe").last!))
        #expect(out["hits"]?.arrayValue?.compactMap { $0["id"]?.intValue } == [chef])
    }
}
