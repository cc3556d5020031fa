/// One side of a pair, with skills already normalised (lowercased, trimmed) for fast set lookups.
public struct MatchCandidate: Sendable {
    public var id: Int64
    public var skills: Set<String>
    public var yearsExperience: Int?
    public var location: String?
    public var willingToRelocate: Bool
    public var expectedSalary: Int?
    /// The normalised city, computed once rather than per pair.
    let cityKey: String?

    public init(id: Int64, skills: [String], yearsExperience: Int?, location: String?, willingToRelocate: Bool,
                expectedSalary: Int?) {
        self.id = id
        self.cityKey = location.map(MatchScorer.city).flatMap { $0.isEmpty ? nil : $0 }
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
    let cityKey: String?

    public init(id: Int64, skills: [String], experienceMinYears: Int?, location: String?, isRemote: Bool,
                salaryMin: Int?, salaryMax: Int?) {
        self.id = id
        self.cityKey = location.map(MatchScorer.city).flatMap { $0.isEmpty ? nil : $0 }
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

    /// Scores one pair. The numbers come first; the skill lists and reasons are only built for pairs
    /// that will be stored: a candidate against 100,000 jobs spent most of its time formatting text
    /// for pairs below the threshold (1.9 s → see README's bench figures after this change).
    public static func score(_ c: MatchCandidate, _ j: MatchJob, similarity: Double, rules: MatchRules) -> MatchResult {
        let semantic = max(0, min(1, similarity)) * 100
        var matchedCount = 0
        for skill in j.skills where c.skills.contains(skill.key) { matchedCount += 1 }
        let skill = j.skills.isEmpty ? semantic : 100 * Double(matchedCount) / Double(j.skills.count)

        var experienceMet = false
        let experience: Double
        if let need = j.experienceMinYears, need > 0 {
            if let years = c.yearsExperience {
                experienceMet = years >= need
                experience = experienceMet ? 100 : max(0, 100 * Double(years) / Double(need))
            } else {
                experience = rules.unknownScore
            }
        } else {
            experience = 100
        }

        enum Place { case remote, same, relocate, other, unknown }
        let place: Place
        if j.isRemote {
            place = .remote
        } else if let jl = j.cityKey, let cl = c.cityKey {
            place = jl == cl ? .same : (c.willingToRelocate ? .relocate : .other)
        } else {
            place = .unknown
        }
        let location: Double
        switch place {
        case .remote: location = rules.remoteScore
        case .same: location = 100
        case .relocate: location = rules.relocateScore
        case .other: location = rules.otherLocationScore
        case .unknown: location = rules.unknownScore
        }

        var salaryFits = false
        let salary: Double
        if let expected = c.expectedSalary, let top = j.salaryMax ?? j.salaryMin, top > 0 {
            salaryFits = expected <= top
            salary = salaryFits ? 100 : max(0, 100 - Double(expected - top) / Double(top) * 100 * rules.salaryPenaltyPerPercent)
        } else {
            salary = rules.unknownScore
        }

        let weights = rules.skillWeight + rules.semanticWeight + rules.experienceWeight + rules.locationWeight + rules.salaryWeight
        let raw = weights > 0
            ? (skill * rules.skillWeight + semantic * rules.semanticWeight + experience * rules.experienceWeight
               + location * rules.locationWeight + salary * rules.salaryWeight) / weights
            : 0
        let total = (raw * 10).rounded() / 10
        let stored = total >= rules.storeThreshold
        var matched: [String] = []
        var missing: [String] = []
        var reasons: [String] = []
        if stored {
            for s in j.skills {
                if c.skills.contains(s.key) { matched.append(s.display) } else { missing.append(s.display) }
            }
            if !j.skills.isEmpty, !matched.isEmpty {
                reasons.append("Matches \(matched.count) of \(j.skills.count) skills: \(matched.prefix(5).joined(separator: ", "))")
            }
            if experienceMet, let need = j.experienceMinYears { reasons.append("Meets the \(need)-year experience requirement") }
            switch place {
            case .remote: reasons.append("Remote role")
            case .same: reasons.append("Located in \(j.location ?? "")")
            case .relocate: reasons.append("Willing to relocate to \(j.location ?? "")")
            default: break
            }
            if salaryFits { reasons.append("Salary expectation fits the range") }
            if semantic >= 75 { reasons.append(String(format: "Strong profile similarity (%.2f)", similarity)) }
        }
        return MatchResult(matchScore: total, skillScore: round1(skill), experienceScore: round1(experience),
                           locationScore: round1(location), salaryScore: round1(salary),
                           semanticSimilarity: (similarity * 10000).rounded() / 10000,
                           matchedSkills: matched, missingSkills: missing, reasons: reasons,
                           isRecommended: total >= rules.recommendThreshold, isStored: stored)
    }

    private static func round1(_ x: Double) -> Double { (x * 10).rounded() / 10 }

    /// "Berlin, Germany" and "berlin" are the same place for matching.
    static func city(_ location: String) -> String {
        let first = location.split(separator: ",").first.map(String.init) ?? location
        return normalize(first)
    }
}

import Foundation
