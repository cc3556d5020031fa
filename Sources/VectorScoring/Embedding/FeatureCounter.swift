/// Term frequencies of hashed features: an open-addressing table of 64-bit keys with a count and a kind
/// weight each, cleared by remembering which slots were used (a text touches ~2,000 of them, far fewer
/// than the table holds). Reused across texts by one thread.
struct FeatureCounter {
    private var keys: [UInt64]
    private var counts: [UInt32]
    private var weights: [Float]
    private var used: [Int32] = []
    private var mask: Int

    init(capacity: Int = 8_192) {
        var size = 16
        while size < capacity { size <<= 1 }
        keys = [UInt64](repeating: 0, count: size)
        counts = [UInt32](repeating: 0, count: size)
        weights = [Float](repeating: 0, count: size)
        mask = size - 1
        used.reserveCapacity(size / 2)
    }

    /// Counts one occurrence of `key` (never 0; the mixed keys are 0 with probability 2^-64, remapped to 1).
    @inline(__always)
    mutating func add(_ key: UInt64, weight: Float) {
        let key = key == 0 ? 1 : key
        if used.count * 2 >= keys.count { grow() }
        var i = Int(truncatingIfNeeded: key) & mask
        while true {
            let k = keys[i]
            if k == key {
                counts[i] &+= 1
                return
            }
            if k == 0 {
                keys[i] = key
                counts[i] = 1
                weights[i] = weight
                used.append(Int32(i))
                return
            }
            i = (i + 1) & mask
        }
    }

    /// Calls `body(key, weight × (1 + ln tf))` for each feature, then empties the table.
    mutating func drain(_ body: (UInt64, Float) -> Void) {
        for slot in used {
            let i = Int(slot)
            body(keys[i], weights[i] * Self.sublinear(counts[i]))
            keys[i] = 0
        }
        used.removeAll(keepingCapacity: true)
    }

    private static let table: [Float] = (0..<64).map { $0 == 0 ? 0 : 1 + Float(logApprox(Double($0))) }

    @inline(__always)
    static func sublinear(_ tf: UInt32) -> Float {
        tf < 64 ? table[Int(tf)] : 1 + Float(logApprox(Double(tf)))
    }

    /// Natural log without Foundation: ln(x) = 2·atanh((x-1)/(x+1)), series to 1e-12 after range reduction.
    static func logApprox(_ x: Double) -> Double {
        var x = x, exponent = 0.0
        while x > 2 { x /= 2; exponent += 1 }
        let t = (x - 1) / (x + 1), t2 = t * t
        var term = t, sum = 0.0, n = 1.0
        while abs(term / n) > 1e-15 { sum += term / n; term *= t2; n += 2 }
        return 2 * sum + exponent * 0.693_147_180_559_945_3
    }

    private mutating func grow() {
        let oldKeys = keys, oldCounts = counts, oldWeights = weights, oldUsed = used
        let size = keys.count * 2
        keys = [UInt64](repeating: 0, count: size)
        counts = [UInt32](repeating: 0, count: size)
        weights = [Float](repeating: 0, count: size)
        mask = size - 1
        used.removeAll(keepingCapacity: true)
        for slot in oldUsed {
            let j = Int(slot)
            var i = Int(truncatingIfNeeded: oldKeys[j]) & mask
            while keys[i] != 0 { i = (i + 1) & mask }
            keys[i] = oldKeys[j]
            counts[i] = oldCounts[j]
            weights[i] = oldWeights[j]
            used.append(Int32(i))
        }
    }
}
