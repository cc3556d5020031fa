import BlacklightCore
import Foundation
import PGStore
import VectorScoring

/// Scores candidate × job pairs natively and writes the matches, in the caller's transaction (the
/// workflow step's savepoint), so a step's matches appear all at once or not at all.
struct MatchStore {
    let conn: PGConnection
    let rules: MatchRules
    let dimension: Int

    enum Mode: String { case insertNew = "insert_new", upsert, replaceCandidate = "replace_candidate" }

    struct Stats { var pairs = 0, stored = 0, recommended = 0, removed = 0 }

    /// Scores the pairs returned by `pairsSQL` (columns candidate_id, job_id) and stores the matches.
    func store(pairsSQL: String, params: [PGValue], mode: Mode) throws -> Stats {
        let result = try conn.query(pairsSQL, params)
        guard result.columns.contains("candidate_id"), result.columns.contains("job_id") else {
            throw MatchingError("match.store: the pairs query must return columns candidate_id and job_id (got \(result.columns.joined(separator: ", ")))")
        }
        // Both are present: checked just above.
        let ci = result.columns.firstIndex(of: "candidate_id")!, ji = result.columns.firstIndex(of: "job_id")!
        var pairs: [(Int64, Int64)] = []
        pairs.reserveCapacity(result.rows.count)
        for row in result.rows {
            if let c = row[ci].intValue, let j = row[ji].intValue { pairs.append((c, j)) }
        }
        return try store(pairs: pairs, mode: mode, candidateScope: mode == .replaceCandidate ? Array(Set(pairs.map(\.0))) : [])
    }

    func store(pairs: [(Int64, Int64)], mode: Mode, candidateScope: [Int64]) throws -> Stats {
        var stats = Stats(pairs: pairs.count)
        let scored = try score(pairs)
        var rows = scored.filter { $0.2.isStored }
        stats.stored = rows.count
        stats.recommended = rows.filter { $0.2.isRecommended }.count
        if mode == .replaceCandidate, !candidateScope.isEmpty {
            // Replace in one transaction: readers see the old set until commit, never none.
            let keep = rows.map { "\($0.0):\($0.1)" }
            stats.removed = try conn.exec("""
                DELETE FROM candidate_job_matches
                WHERE candidate_id = ANY($1::bigint[]) AND NOT ((candidate_id::text || ':' || job_posting_id::text) = ANY($2::text[]))
                """, [.array(candidateScope.map { .int($0) }), .array(keep.map { .text($0) })])
        }
        if mode == .upsert {
            let below = scored.filter { !$0.2.isStored }
            if !below.isEmpty {
                stats.removed = try conn.exec("""
                    DELETE FROM candidate_job_matches m USING unnest($1::bigint[], $2::bigint[]) AS p(c, j)
                    WHERE m.candidate_id = p.c AND m.job_posting_id = p.j
                    """, [.array(below.map { .int($0.0) }), .array(below.map { .int($0.1) })])
            }
        }
        if rows.isEmpty { return stats }
        let conflict = mode == .insertNew
            ? "ON CONFLICT (candidate_id, job_posting_id) DO NOTHING"
            : """
              ON CONFLICT (candidate_id, job_posting_id) DO UPDATE SET match_score = EXCLUDED.match_score,
                  skill_match_score = EXCLUDED.skill_match_score, experience_match_score = EXCLUDED.experience_match_score,
                  location_match_score = EXCLUDED.location_match_score, salary_match_score = EXCLUDED.salary_match_score,
                  semantic_similarity = EXCLUDED.semantic_similarity, matched_skills = EXCLUDED.matched_skills,
                  missing_skills = EXCLUDED.missing_skills, match_reasons = EXCLUDED.match_reasons,
                  is_recommended = EXCLUDED.is_recommended, updated_at = now()
              """
        // One statement per 5,000 rows: unnest of parallel arrays (text[] columns travel as JSON
        // arrays because SQL arrays must be rectangular).
        var written = 0
        while !rows.isEmpty {
            let chunk = rows.prefix(5_000)
            rows.removeFirst(chunk.count)
            func json(_ list: [String]) -> PGValue { .text(JSONValue.array(list.map { .string($0) }).serialized()) }
            written += try conn.exec("""
                INSERT INTO candidate_job_matches (candidate_id, job_posting_id, match_score, skill_match_score,
                    experience_match_score, location_match_score, salary_match_score, semantic_similarity,
                    matched_skills, missing_skills, match_reasons, is_recommended)
                SELECT c, j, s, sk, ex, lo, sa, se,
                       ARRAY(SELECT jsonb_array_elements_text(ms)), ARRAY(SELECT jsonb_array_elements_text(mi)),
                       ARRAY(SELECT jsonb_array_elements_text(re)), rec
                FROM unnest($1::bigint[], $2::bigint[], $3::float8[], $4::float8[], $5::float8[], $6::float8[], $7::float8[],
                            $8::float8[], $9::jsonb[], $10::jsonb[], $11::jsonb[], $12::bool[])
                     AS t(c, j, s, sk, ex, lo, sa, se, ms, mi, re, rec)
                \(conflict)
                """, [
                    .array(chunk.map { .int($0.0) }), .array(chunk.map { .int($0.1) }),
                    .array(chunk.map { .double($0.2.matchScore) }), .array(chunk.map { .double($0.2.skillScore) }),
                    .array(chunk.map { .double($0.2.experienceScore) }), .array(chunk.map { .double($0.2.locationScore) }),
                    .array(chunk.map { .double($0.2.salaryScore) }), .array(chunk.map { .double($0.2.semanticSimilarity) }),
                    .array(chunk.map { json($0.2.matchedSkills) }), .array(chunk.map { json($0.2.missingSkills) }),
                    .array(chunk.map { json($0.2.reasons) }), .array(chunk.map { .bool($0.2.isRecommended) }),
                ])
        }
        if mode == .insertNew { stats.stored = written }
        return stats
    }

    /// Scores every pair: candidates loaded once each, jobs from the process cache.
    func score(_ pairs: [(Int64, Int64)]) throws -> [(Int64, Int64, MatchResult)] {
        if pairs.isEmpty { return [] }
        let candidates = try loadCandidates(Array(Set(pairs.map(\.0))))
        try JobCache.shared.refresh(conn, dimension: dimension)
        let jobIDs = Array(Set(pairs.map(\.1)))
        var jobs: [Int64: MatchJob] = [:]
        jobs.reserveCapacity(jobIDs.count)
        for job in JobCache.shared.lookup(jobIDs) { jobs[job.id] = job }
        var directVectors: [Int64: Vector] = [:]
        let missing = jobIDs.filter { jobs[$0] == nil }
        if !missing.isEmpty {
            // Not active (or just changed): read them directly.
            let rows = try conn.query("""
                SELECT id, skills, experience_min_years, location, is_remote, salary_min, salary_max, embedding
                FROM job_postings WHERE id = ANY($1::bigint[])
                """, [.array(missing.map { .int($0) })])
            for row in rows.rows {
                let job = JobCache.job(row)
                if case .float4Array(let e) = row["embedding"] { directVectors[job.id] = Vector(e).normalized() }
                jobs[job.id] = job
            }
        }
        // Similarities per candidate in one pass over that candidate's jobs.
        var byCandidate: [Int64: [Int64]] = [:]
        for (c, j) in pairs { byCandidate[c, default: []].append(j) }
        var similarity: [Int64: [Int64: Double]] = [:]
        for (c, js) in byCandidate {
            guard let query = candidates[c]?.1 else { continue }
            var map: [Int64: Double] = [:]
            map.reserveCapacity(js.count)
            let cached = try JobCache.shared.similarities(query, ids: js)
            for (k, j) in js.enumerated() {
                if let s = cached[k] {
                    map[j] = Double(s)
                } else if let v = directVectors[j], v.dimension == query.dimension {
                    map[j] = Double(try VectorMath.dot(query, v))
                }
            }
            similarity[c] = map
        }
        var out: [(Int64, Int64, MatchResult)] = []
        out.reserveCapacity(pairs.count)
        for (c, j) in pairs {
            guard let candidate = candidates[c], let job = jobs[j] else { continue }
            let s = similarity[c]?[j] ?? rules.unknownScore / 100
            out.append((c, j, MatchScorer.score(candidate.0, job, similarity: s, rules: rules)))
        }
        return out
    }

    func loadCandidates(_ ids: [Int64]) throws -> [Int64: (MatchCandidate, Vector?)] {
        let rows = try conn.query("""
            SELECT id, skills, years_experience, location, willing_to_relocate, expected_salary, embedding
            FROM candidates WHERE id = ANY($1::bigint[])
            """, [.array(ids.map { .int($0) })])
        var out: [Int64: (MatchCandidate, Vector?)] = [:]
        for row in rows.rows {
            guard let id = row["id"].intValue else { continue }
            var vector: Vector?
            if case .float4Array(let e) = row["embedding"], !e.isEmpty { vector = Vector(e).normalized() }
            out[id] = (MatchCandidate(id: id, skills: (row["skills"].arrayValue ?? []).compactMap(\.stringValue),
                                      yearsExperience: row["years_experience"].intValue.map(Int.init),
                                      location: row["location"].stringValue,
                                      willingToRelocate: row["willing_to_relocate"].boolValue ?? false,
                                      expectedSalary: row["expected_salary"].intValue.map(Int.init)), vector)
        }
        return out
    }
}
