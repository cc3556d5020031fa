/// Clustered synthetic embeddings for benchmarks and tests: `clusters` random centres, each vector a centre
/// plus noise, normalised. With noise 1 a vector's cosine to its centre is about 0.71 and to a neighbour in
/// its cluster about 0.5, so a top-100 has to rank many near-equal scores (harder for int8 than uniform data).
/// Deterministic: vector i depends only on (seed, i).
public enum SyntheticVectors {
    /// `count` vectors of `dimension` floats.
    public static func clustered(count: Int, dimension: Int, clusters: Int = 1_000, noise: Float = 1,
                                 seed: UInt64 = 42, threads: Int = 2) -> [[Float]] {
        let centres = (0..<clusters).map { c in gaussian(dimension, seed: seed &+ 0x9E37_79B9 &* UInt64(c + 1)) }
        let parts = Parallel.split(count, into: max(1, min(threads, count / 10_000)))
        return Parallel.map(parts.count) { p in
            parts[p].map { i -> [Float] in
                var rng = SplitMix64(seed: seed ^ (UInt64(i) &* 0xD6E8_FEB8_6659_FD93))
                let centre = centres[Int(rng.next() % UInt64(clusters))]
                var v = gaussian(dimension, rng: &rng)
                for d in 0..<dimension { v[d] = centre[d] + noise * v[d] }
                return Vector.normalizedValues(v)
            }
        }.flatMap { $0 }
    }

    static func gaussian(_ n: Int, seed: UInt64) -> [Float] {
        var rng = SplitMix64(seed: seed)
        return gaussian(n, rng: &rng)
    }

    /// Approximately normal values (a sum of four uniforms, rescaled to unit variance): a tenth of the cost
    /// of Box-Muller, which matters for 384M samples, and the tails do not matter here.
    static func gaussian(_ n: Int, rng: inout SplitMix64) -> [Float] {
        (0..<n).map { _ in
            let r = rng.next()
            let sum = Float(r & 0xFFFF) + Float((r >> 16) & 0xFFFF) + Float((r >> 32) & 0xFFFF) + Float(r >> 48)
            return (sum / 65_536 - 2) * 1.732_050_8
        }
    }
}

/// A small, fast, deterministic generator (Steele et al.'s SplitMix64).
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
