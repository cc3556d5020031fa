/// Deterministic 64-bit hashing for the embedder's features. Swift's `Hasher` is seeded per process, so
/// embeddings would change between runs; FNV-1a is stable, and a final avalanche mix spreads FNV's weak
/// low bits before they pick a bucket and a sign.
enum FeatureHash {
    static let offset: UInt64 = 0xCBF2_9CE4_8422_2325
    static let prime: UInt64 = 0x0000_0100_0000_01B3

    /// FNV-1a of bytes.
    @inline(__always)
    static func fnv1a(_ bytes: UnsafeBufferPointer<UInt8>, seed: UInt64 = offset) -> UInt64 {
        var h = seed
        for b in bytes { h = (h ^ UInt64(b)) &* prime }
        return h
    }

    /// MurmurHash3's 64-bit finaliser.
    @inline(__always)
    static func mix(_ x: UInt64) -> UInt64 {
        var z = x
        z = (z ^ (z >> 33)) &* 0xFF51_AFD7_ED55_8CCD
        z = (z ^ (z >> 33)) &* 0xC4CE_B9FE_1A85_EC53
        return z ^ (z >> 33)
    }

    /// Feature kinds, folded into the key so a word, a bigram, a trigram and a skill never share a key.
    enum Kind: UInt64 {
        case word = 0x5752_4400_0000_0001
        case bigram = 0x4247_5200_0000_0002
        case trigram = 0x5452_4900_0000_0003
        case skill = 0x534B_4C00_0000_0004
    }

    @inline(__always)
    static func key(_ kind: Kind, _ h: UInt64) -> UInt64 { mix(h ^ kind.rawValue) }
}
