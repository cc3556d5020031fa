/// One side of a pair, with skills already normalised (lowercased, trimmed) for fast set lookups.
public struct MatchCandidate: Sendable {
    public var id: Int64
    public var skills: Set<String>
    public var yearsExperience: Int?
    public var location: String?
    public var willingToRelocate: Bool
    public var expectedSalary: Int?

    public init(id: Int64, skills: [String], yearsExperience: Int?, location: String?, willingToRelocate: Bool,
                expectedSalary: Int?) {
        self.id = id
        self.skills = Set(skills.map(MatchScorer.normalize))
        self.yearsExperience = yearsExperience
        self.location = location
        self.willingToRelocate = willingToRelocate
        self.expectedSalary = expectedSalary
    }
}

public struct MatchJob: Sendable {
    public var id: Int64
    /// Skills as the posting spells them (for matched/missing lists) and normalised.
    public var skills: [(display: String, key: String)]
    public var experienceMinYears: Int?
    public var location: String?
    public var isRemote: Bool
    public var salaryMin: Int?
    public var salaryMax: Int?

    public init(id: Int64, skills: [String], experienceMinYears: Int?, location: String?, isRemote: Bool,
                salaryMin: Int?, salaryMax: Int?) {
        self.id = id
        var seen = Set<String>()
        self.skills = skills.compactMap { s in
            let key = MatchScorer.normalize(s)
            guard !key.isEmpty, seen.insert(key).inserted else { return nil }
            return (s.trimmingCharacters(in: .whitespaces), key)
        }
        self.experienceMinYears = experienceMinYears
        self.location = location
        self.isRemote = isRemote
        self.salaryMin = salaryMin
        self.salaryMax = salaryMax
    }
}

public struct MatchResult: Sendable, Equatable {
    public var matchScore: Double
    public var skillScore: Double
    public var experienceScore: Double
    public var locationScore: Double
    public var salaryScore: Double
    public var semanticSimilarity: Double
    public var matchedSkills: [String]
    public var missingSkills: [String]
    public var reasons: [String]
    public var isRecommended: Bool
    public var isStored: Bool
}

/// The per-pair arithmetic of matching (see README "Match scoring"). Pure and cheap, so large batches
/// (a job against thousands of candidates, a candidate against 100,000 jobs) run natively.
public enum MatchScorer {
    public static func normalize(_ skill: String) -> String {
        skill.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
    }

    public static func score(_ c: MatchCandidate, _ j: MatchJob, similarity: Double, rules: MatchRules) -> MatchResult {
        var reasons: [String] = []
        let semantic = max(0, min(1, similarity)) * 100

        var matched: [String] = []
        var missing: [String] = []
        for skill in j.skills {
            if c.skills.contains(skill.key) { matched.append(skill.display) } else { missing.append(skill.display) }
        }
        let skill: Double
        if j.skills.isEmpty {
            skill = semantic
        } else {
            skill = 100 * Double(matched.count) / Double(j.skills.count)
            if !matched.isEmpty {
                reasons.append("Matches \(matched.count) of \(j.skills.count) skills: \(matched.prefix(5).joined(separator: ", "))")
            }
        }

        let experience: Double
        if let need = j.experienceMinYears, need > 0 {
            if let years = c.yearsExperience {
                experience = years >= need ? 100 : max(0, 100 * Double(years) / Double(need))
                if years >= need { reasons.append("Meets the \(need)-year experience requirement") }
            } else {
                experience = rules.unknownScore
            }
        } else {
            experience = 100
        }

        let location: Double
        if j.isRemote {
            location = rules.remoteScore
            reasons.append("Remote role")
        } else if let jl = j.location.map(city), let cl = c.location.map(city), !jl.isEmpty, !cl.isEmpty {
            if jl == cl {
                location = 100
                reasons.append("Located in \(j.location ?? "")")
            } else if c.willingToRelocate {
                location = rules.relocateScore
                reasons.append("Willing to relocate to \(j.location ?? "")")
            } else {
                location = rules.otherLocationScore
            }
        } else {
            location = rules.unknownScore
        }

        let salary: Double
        if let expected = c.expectedSalary, let top = j.salaryMax ?? j.salaryMin, top > 0 {
            if expected <= top {
                salary = 100
                reasons.append("Salary expectation fits the range")
            } else {
                let overPercent = Double(expected - top) / Double(top) * 100
                salary = max(0, 100 - overPercent * rules.salaryPenaltyPerPercent)
            }
        } else {
            salary = rules.unknownScore
        }
        if semantic >= 75 { reasons.append(String(format: "Strong profile similarity (%.2f)", similarity)) }

        let weights = rules.skillWeight + rules.semanticWeight + rules.experienceWeight + rules.locationWeight + rules.salaryWeight
        let raw = weights > 0
            ? (skill * rules.skillWeight + semantic * rules.semanticWeight + experience * rules.experienceWeight
               + location * rules.locationWeight + salary * rules.salaryWeight) / weights
            : 0
        let total = (raw * 10).rounded() / 10
        return MatchResult(matchScore: total, skillScore: round1(skill), experienceScore: round1(experience),
                           locationScore: round1(location), salaryScore: round1(salary),
                           semanticSimilarity: (similarity * 10000).rounded() / 10000,
                           matchedSkills: matched, missingSkills: missing, reasons: reasons,
                           isRecommended: total >= rules.recommendThreshold, isStored: total >= rules.storeThreshold)
    }

    private static func round1(_ x: Double) -> Double { (x * 10).rounded() / 10 }

    /// "Berlin, Germany" and "berlin" are the same place for matching.
    static func city(_ location: String) -> String {
        let first = location.split(separator: ",").first.map(String.init) ?? location
        return normalize(first)
    }
}

import Foundation
