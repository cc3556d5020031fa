@testable import VectorScoring

/// Deterministic test vectors and naive references.
enum TestData {
    static func random(_ count: Int, dimension: Int, seed: UInt64) -> [[Float]] {
        var rng = SplitMix64(seed: seed)
        return (0..<count).map { _ in (0..<dimension).map { _ in Float.random(in: -1...1, using: &rng) } }
    }

    static func naiveDot(_ a: [Float], _ b: [Float]) -> Double {
        zip(a, b).reduce(0) { $0 + Double($1.0) * Double($1.1) }
    }

    static func naiveCosine(_ a: [Float], _ b: [Float]) -> Double {
        let n = (naiveDot(a, a) * naiveDot(b, b)).squareRoot()
        return n == 0 ? 0 : naiveDot(a, b) / n
    }

    /// The exact top-k by brute force: every stored score (from the index's own exact scorer, so equal
    /// vectors give bit-equal scores), sorted by score descending then id ascending.
    static func bruteForce(_ index: VectorIndex, ids: [Int64], query: Vector, k: Int, threshold: Float? = nil) throws
        -> [ScoredID]
    {
        let scores = try index.scores(query, ids: ids)
        var all: [ScoredID] = []
        for (id, score) in zip(ids, scores) {
            guard let score, score >= (threshold ?? -.infinity) else { continue }
            all.append(ScoredID(id: id, score: score))
        }
        all.sort { $0.score > $1.score || ($0.score == $1.score && $0.id < $1.id) }
        return Array(all.prefix(k))
    }

    static func index(_ vectors: [[Float]], level: KernelLevel = .best, firstID: Int64 = 0) throws -> VectorIndex {
        let index = try VectorIndex(dimension: vectors[0].count, capacity: 0, level: level)
        try index.upsert(ids: vectors.indices.map { firstID + Int64($0) }, vectors: vectors)
        return index
    }
}
