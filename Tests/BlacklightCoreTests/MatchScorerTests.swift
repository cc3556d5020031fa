import BlacklightCore
import Testing

@Suite("Match scoring")
struct MatchScorerTests {
    /// Rules that make the total equal the skill score, so thresholds can be hit exactly.
    var skillsOnly: MatchRules {
        var r = MatchRules()
        r.skillWeight = 1
        r.semanticWeight = 0
        r.experienceWeight = 0
        r.locationWeight = 0
        r.salaryWeight = 0
        return r
    }

    func pair(matching n: Int, of total: Int) -> (MatchCandidate, MatchJob) {
        let skills = (0..<total).map { "skill\($0)" }
        return (MatchCandidate(id: 1, skills: Array(skills.prefix(n)), yearsExperience: 5, location: "Berlin",
                               willingToRelocate: false, expectedSalary: 50_000),
                MatchJob(id: 2, skills: skills, experienceMinYears: 2, location: "Berlin", isRemote: false,
                         salaryMin: 40_000, salaryMax: 60_000))
    }

    @Test("threshold edges: 49.9 is not stored, 50 is stored, 70 is recommended", arguments: [
        (499, 49.9, false, false), (500, 50.0, true, false), (699, 69.9, true, false), (700, 70.0, true, true),
    ])
    func thresholds(matched: Int, score: Double, stored: Bool, recommended: Bool) {
        let (c, j) = pair(matching: matched, of: 1000)
        let r = MatchScorer.score(c, j, similarity: 0, rules: skillsOnly)
        #expect(r.matchScore == score)
        #expect(r.isStored == stored)
        #expect(r.isRecommended == recommended)
    }

    @Test("components follow the README formula")
    func components() {
        let c = MatchCandidate(id: 1, skills: ["python", " SQL "], yearsExperience: 1, location: "berlin, Germany",
                               willingToRelocate: true, expectedSalary: 66_000)
        let j = MatchJob(id: 2, skills: ["Python", "SQL", "Spark", "Scala"], experienceMinYears: 4, location: "Paris, France",
                         isRemote: false, salaryMin: 50_000, salaryMax: 60_000)
        let r = MatchScorer.score(c, j, similarity: 0.8, rules: MatchRules())
        #expect(r.skillScore == 50)
        #expect(r.matchedSkills == ["Python", "SQL"] && r.missingSkills == ["Spark", "Scala"])
        #expect(r.experienceScore == 25)
        #expect(r.locationScore == 70)          // different city, willing to relocate
        #expect(r.salaryScore == 80)            // 10 % over the top of range, 2 points per %
        #expect(r.semanticSimilarity == 0.8)
        // 0.35·50 + 0.25·80 + 0.15·25 + 0.15·70 + 0.10·80 = 59.75 → 59.8
        #expect(r.matchScore == 59.8)
        #expect(r.reasons.contains("Willing to relocate to Paris, France"))
    }

    @Test("remote jobs score full location; missing data scores the neutral 50")
    func remoteAndUnknown() {
        let c = MatchCandidate(id: 1, skills: [], yearsExperience: nil, location: nil, willingToRelocate: false, expectedSalary: nil)
        let remote = MatchJob(id: 2, skills: [], experienceMinYears: 3, location: "Oslo", isRemote: true, salaryMin: nil, salaryMax: nil)
        let r = MatchScorer.score(c, remote, similarity: 0.5, rules: MatchRules())
        #expect(r.locationScore == 100 && r.experienceScore == 50 && r.salaryScore == 50)
        #expect(r.skillScore == 50)   // a job without skills scores skills by semantic similarity
    }
}
