import VectorScoring

/// The recruiter's test of an embedder: map raw job titles to their occupation. The 1,016 O*NET occupations are
/// embedded as "Title. Description", a fixed sample of O*NET alternate titles (each listed under its occupation) as
/// they are, and each title goes to the occupation of highest cosine. Top-1 counts the titles whose own occupation
/// comes first, top-5 those where it is among the first five.
public struct RoleNormalization: Sendable {
    public struct Score: Sendable {
        public var top1: Double
        public var top5: Double
    }

    /// Occupation texts and their codes.
    public let occupations: [(code: String, text: String)]
    /// Sampled alternate titles and the code of the occupation that lists them.
    public let titles: [(code: String, text: String)]

    /// `count` alternate titles drawn without replacement with SplitMix64(`seed`) from all of them, in the order of the
    /// occupations and then of the file.
    public init(data: ONetData, count: Int = 2_000, seed: UInt64 = 13) {
        occupations = data.roles.map { ($0.code, "\($0.title). \($0.description)") }
        var all = data.roles.flatMap { role in role.alternateTitles.map { (code: role.code, text: $0) } }
        var rng = SplitMix64(seed: seed)
        let n = min(count, all.count)
        for i in 0..<n {
            let j = i + Int(rng.next() % UInt64(all.count - i))
            all.swapAt(i, j)
        }
        titles = Array(all.prefix(n))
    }

    /// Top-1 and top-5 accuracy (in %) of an embedder given as a function from texts to normalised vectors.
    public func score(_ embed: ([String]) throws -> [Vector]) throws -> Score {
        let occupationVectors = try embed(occupations.map(\.text))
        let titleVectors = try embed(titles.map(\.text))
        let similarity = try BatchScoring.cosineMatrix(titleVectors, occupationVectors)
        var top1 = 0, top5 = 0
        for (row, title) in zip(similarity, titles) {
            let ranked = row.indices.sorted { row[$0] > row[$1] }.prefix(5).map { occupations[$0].code }
            if ranked.first == title.code { top1 += 1 }
            if ranked.contains(title.code) { top5 += 1 }
        }
        let n = Double(max(1, titles.count))
        return Score(top1: 100 * Double(top1) / n, top5: 100 * Double(top5) / n)
    }
}
